"""A Gymnasium environment over a reconf scenario: an agent in place of the scenario's policy.

>>> from reconf.gym import ReconfEnv
>>> env = ReconfEnv("scenarios/paper/migration-steps.toml", reward="weighted")
>>> obs, info = env.reset(seed=1)
>>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

Each step is one control instant of the scenario (every ``[policy] period_s`` seconds, 30 by
default): ``step(action)`` carries out the action's reconfiguration at the instant the agent
observed, then simulates to the next instant, exactly where and how a policy's ``decide`` would
be called (the simulation runs in a thread of its own, behind the same ``Policy`` seam).

**Observation** (``numpy.float32``, fixed size for a scenario; ``env.observation_names`` names
every entry), in this order:

=================================  ========================================  ==========
entry                              meaning                                   bounds
=================================  ========================================  ==========
``progress``                       simulated time / scenario duration        0..1
``node.<i>.on``                    1 if node ``i`` is on                     0..1
``node.<i>.transition``            1 if it is booting or shutting down       0..1
``node.<i>.cpu_utilisation``       busy share of its cores over the period   0..1
``node.<i>.failed``                1 if it has crashed (not repaired yet)    0..1
``app.<a>.clients``                clients in the loop now                   0..inf
``app.<a>.throughput_rps``         completed requests per s over the period  0..inf
``app.<a>.mean_response_ratio``    mean response time / SLA target           0..inf
``app.<a>.p95_response_ratio``     p95 response time / SLA target            0..inf
``app.<a>.failed_requests``        failed requests over the period           0..inf
``tier.<a>.<t>.active``            active replicas of the tier               0..inf
``tier.<a>.<t>.starting``          replicas starting                         0..inf
=================================  ========================================  ==========

**Actions** (``Discrete(1 + 2·tiers + 2·nodes)``; ``env.action_names`` names each): ``0`` does
nothing; ``1 + 2k`` adds a replica to tier ``k`` (on an empty node that is on in bare mode, on
the least-utilised node with room in virtualized mode, else on a node that is off, which boots);
``2 + 2k`` stops the tier's newest active replica, draining it (never the last one);
``1 + 2T + 2i`` powers node ``i`` on and ``2 + 2T + 2i`` powers it off. An action the backend
cannot carry out is refused (``info["refused"]`` counts them). ``action_fn=f`` and
``action_space=`` replace this mapping: ``f(view, action)`` returns a list of reconf actions.

**Reward** of a step, over the control period that just ended:

- ``"sla"``: ``-violations``, the number of applications whose p95 response time exceeded their
  SLA target or that had failed requests over the period;
- ``"energy"``: ``-energy_kwh``, the nodes' energy over the period (mean power × period);
- ``"weighted"`` (default): ``-(sla_weight · violations + energy_weight_per_kwh · energy_kwh)``;
- a callable ``f(view) -> float``.

``info`` always has ``time_s``, ``violations``, ``energy_kwh``, ``refused`` and ``seed``.

**Episodes** end at the scenario's end (``truncated``: a time limit, not a terminal state;
``terminated`` is always False), or after ``max_steps`` steps. The final step's observation is
the last control instant's and its reward 0; ``info["summary"]`` is then the run's
:class:`reconf.RunResult` (the summary dict, ``.timeseries``).

**Seeds**: ``reset(seed=s)`` runs the scenario with seed ``s``; ``reset()`` without a seed uses
the scenario's seed the first time, then the previous seed + 1. Same seed and same actions give
the same episode.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as e:  # pragma: no cover
    raise ImportError("reconf.gym needs gymnasium: pip install gymnasium") from e

from . import _core, _reconf
from ._reconf import PowerOff, PowerOn, StartReplica, StopReplica, View


def _violations(view: View) -> int:
    return sum(
        1 for a in view.apps if a.p95_response_ms > a.sla_target_ms or a.failed_requests > 0
    )


def _energy_kwh(view: View) -> float:
    return sum(n.power_w for n in view.nodes) * view.period_s / 3.6e6


class ReconfEnv(gym.Env):
    """An agent decides, at each control instant of a scenario, the reconfiguration to carry
    out (see the module's documentation for observation, actions and reward)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        scenario: _core.ScenarioLike,
        set: Any = None,
        reward: Union[str, Callable[[View], float]] = "weighted",
        sla_weight: float = 1.0,
        energy_weight_per_kwh: float = 10.0,
        max_steps: Optional[int] = None,
        action_fn: Optional[Callable[[View, Any], list]] = None,
        action_space: Optional[gym.Space] = None,
        max_memory_mb: int = _core.DEFAULT_MAX_MEMORY_MB,
    ):
        super().__init__()
        if not callable(reward) and reward not in ("sla", "energy", "weighted"):
            raise ValueError(f"reward: 'sla', 'energy', 'weighted' or a callable, not {reward!r}")
        if (action_fn is None) != (action_space is None):
            raise ValueError("action_fn and action_space go together")
        self._scenario = _core.load(scenario, set=set, max_memory_mb=max_memory_mb)
        self._reward = reward
        self.sla_weight = float(sla_weight)
        self.energy_weight_per_kwh = float(energy_weight_per_kwh)
        self.max_steps = max_steps
        self._action_fn = action_fn
        # The shape of the world, from the first control instant of a probe run.
        probe = _reconf.Session(self._scenario)
        first = probe.start()
        del probe
        if not isinstance(first, View):
            raise ValueError(f"{self._scenario.source}: the run has no control instant")
        self._nodes = len(first.nodes)
        self._apps = len(first.apps)
        self._tiers = [(t.app, t.tier) for a in first.apps for t in a.tiers]
        names = ["progress"]
        for n in first.nodes:
            names += [
                f"node.{n.id}.on",
                f"node.{n.id}.transition",
                f"node.{n.id}.cpu_utilisation",
                f"node.{n.id}.failed",
            ]
        for a in first.apps:
            names += [
                f"app.{a.id}.clients",
                f"app.{a.id}.throughput_rps",
                f"app.{a.id}.mean_response_ratio",
                f"app.{a.id}.p95_response_ratio",
                f"app.{a.id}.failed_requests",
            ]
        for app, tier in self._tiers:
            names += [f"tier.{app}.{tier}.active", f"tier.{app}.{tier}.starting"]
        self.observation_names = names
        high = np.full(len(names), np.inf, dtype=np.float32)
        high[0] = 1.0
        high[1 : 1 + 4 * self._nodes] = 1.0
        self.observation_space = spaces.Box(
            low=np.zeros(len(names), dtype=np.float32), high=high, dtype=np.float32
        )
        if action_space is not None:
            self.action_space = action_space
            self.action_names = None
        else:
            self.action_space = spaces.Discrete(1 + 2 * len(self._tiers) + 2 * self._nodes)
            acts = ["nothing"]
            for app, tier in self._tiers:
                acts += [f"add-replica tier {app}.{tier}", f"remove-replica tier {app}.{tier}"]
            for i in range(self._nodes):
                acts += [f"power-on node {i}", f"power-off node {i}"]
            self.action_names = acts
        self._session = None
        self._view: Optional[View] = None
        self._obs: Optional[np.ndarray] = None
        self._seed: Optional[int] = None
        self._steps = 0

    # -- observation, reward, actions -------------------------------------------------------

    def observe(self, view: View) -> np.ndarray:
        """The observation of a view (layout in the module's documentation)."""
        obs = [min(max(view.now_s / self._scenario.duration_s, 0.0), 1.0)]
        for n in view.nodes:
            obs += [
                1.0 if n.state == "on" else 0.0,
                1.0 if n.state in ("booting", "shutting-down") else 0.0,
                min(max(n.cpu_utilisation, 0.0), 1.0),
                1.0 if n.state == "failed" else 0.0,
            ]
        for a in view.apps:
            target = a.sla_target_ms if a.sla_target_ms > 0 else 1.0
            obs += [
                float(a.clients),
                a.throughput_rps,
                a.mean_response_ms / target,
                a.p95_response_ms / target,
                float(a.failed_requests),
            ]
        states = [(r.app, r.tier, r.state) for r in view.replicas]
        for app, tier in self._tiers:
            obs += [
                float(sum(1 for s in states if s == (app, tier, "active"))),
                float(sum(1 for s in states if s == (app, tier, "starting"))),
            ]
        return np.asarray(obs, dtype=np.float32)

    def reward_of(self, view: View) -> float:
        if callable(self._reward):
            return float(self._reward(view))
        violations, energy = _violations(view), _energy_kwh(view)
        if self._reward == "sla":
            return -float(violations)
        if self._reward == "energy":
            return -energy
        return -(self.sla_weight * violations + self.energy_weight_per_kwh * energy)

    def actions_of(self, view: View, action: Any) -> list:
        """The reconf actions of an action of ``action_space``."""
        if self._action_fn is not None:
            return list(self._action_fn(view, action))
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        if a == 0:
            return []
        a -= 1
        if a < 2 * len(self._tiers):
            app, tier = self._tiers[a // 2]
            if a % 2 == 0:
                node = self._node_for_new_replica(view, app, tier)
                return [] if node is None else [StartReplica(app=app, tier=tier, node=node)]
            active = view.tier_replicas(app, tier, "active")
            return [StopReplica(replica=active[-1].id, drain=True)] if len(active) >= 2 else []
        a -= 2 * len(self._tiers)
        node = a // 2
        return [PowerOn(node=node)] if a % 2 == 0 else [PowerOff(node=node)]

    @staticmethod
    def _node_for_new_replica(view: View, app: int, tier: int) -> Optional[int]:
        usable = [n for n in view.nodes if not view.node_busy_with_actions(n.id)]
        on = [n for n in usable if n.state == "on"]
        if view.mode == "bare":
            empty = [n for n in on if n.replica is None and not n.vms]
            if empty:
                return empty[0].id
        elif view.mode == "virtualized":
            ram = 0.0
            for r in view.tier_replicas(app, tier, "active"):
                if r.vm is not None:
                    ram = view.vm(r.vm).ram_mb
                    break
            roomy = [n for n in on if n.free_ram_mb >= ram]
            if roomy:
                return min(roomy, key=lambda n: (n.cpu_utilisation, n.id)).id
        off = [n for n in usable if n.state == "off"]
        return off[0].id if off else None

    # -- the Gymnasium API ------------------------------------------------------------------

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is not None:
            self._seed = int(seed)
        elif self._seed is None:
            self._seed = self._scenario.seed
        else:
            self._seed += 1
        self.close()
        scenario = _core.load(self._scenario, seed=self._seed)
        self._session = _reconf.Session(scenario)
        first = self._session.start()
        if not isinstance(first, View):
            raise RuntimeError(f"{scenario.source}: the run has no control instant")
        self._view = first
        self._obs = self.observe(first)
        self._steps = 0
        return self._obs.copy(), self._info(first, 0)

    def step(self, action):
        if self._session is None or self._view is None:
            raise RuntimeError("call reset() first")
        actions = self.actions_of(self._view, action)
        result = self._session.act(actions)
        self._steps += 1
        if isinstance(result, View):
            self._view = result
            self._obs = self.observe(result)
            truncated = self.max_steps is not None and self._steps >= self.max_steps
            return self._obs.copy(), self.reward_of(result), False, truncated, self._info(result, self._steps)
        # The scenario's end: no further control instant.
        info = self._info(self._view, self._steps)
        info["summary"] = _core.RunResult(result)
        self._session = None
        self._view = None
        return self._obs.copy(), 0.0, False, True, info

    def _info(self, view: View, steps: int) -> dict:
        return {
            "time_s": view.now_s,
            "violations": _violations(view),
            "energy_kwh": _energy_kwh(view),
            "refused": sum(1 for a in view.actions if a.outcome == "refused"),
            "seed": self._seed,
            "steps": steps,
        }

    def close(self):
        # Dropping the session ends its run's thread.
        self._session = None
        self._view = None
