"""reconf.gym.ReconfEnv: Gymnasium's checker, determinism for a seed, rewards and actions."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import reconf  # noqa: E402
from reconf.gym import ReconfEnv  # noqa: E402

SCENARIO = "scenarios/paper/migration-steps.toml"
SHORT = {"duration_s": 600}


def test_the_environment_passes_gymnasiums_checker():
    env = ReconfEnv(SCENARIO, set=SHORT)
    check_env(env, skip_render_check=True)
    # Observation layout: progress, 4 per node, 5 per app, 2 per tier.
    assert env.observation_space.shape == (1 + 4 * 8 + 5 * 1 + 2 * 4,)
    assert len(env.observation_names) == env.observation_space.shape[0]
    assert env.action_space.n == 1 + 2 * 4 + 2 * 8 == len(env.action_names)


def episode(env, seed, actions):
    obs, info = env.reset(seed=seed)
    out = [obs]
    rewards = []
    for a in actions:
        obs, r, terminated, truncated, info = env.step(a)
        out.append(obs)
        rewards.append(r)
        if terminated or truncated:
            break
    return np.array(out), rewards, info


def test_an_episode_is_deterministic_for_a_seed():
    env = ReconfEnv(SCENARIO, set=SHORT)
    rng = np.random.default_rng(0)
    actions = [int(a) for a in rng.integers(0, env.action_space.n, size=30)]
    a = episode(env, 4, actions)
    b = episode(ReconfEnv(SCENARIO, set=SHORT), 4, actions)
    c = episode(env, 5, actions)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], c[0])


def test_doing_nothing_to_the_end_is_a_run_without_actions():
    env = ReconfEnv(SCENARIO, set=SHORT)
    obs, info = env.reset(seed=2)
    assert info["time_s"] == 30.0 and info["seed"] == 2
    steps = 0
    while True:
        obs, r, terminated, truncated, info = env.step(0)
        steps += 1
        assert not terminated
        if truncated:
            break
        assert r <= 0.0
    # Control instants at 30, 60, ..., 570 s: 19 observations, the 19th step ends the run.
    assert steps == 19
    static = reconf.run(SCENARIO, seed=2, set={**SHORT, "policy.name": "static", "policy.params": {}})
    summary = info["summary"]
    skip = {"provenance", "wall_seconds", "events_per_s"}
    assert {k: v for k, v in summary.items() if k not in skip} == {
        k: v for k, v in static.items() if k not in skip
    }
    with pytest.raises(RuntimeError):
        env.step(0)


def test_actions_reach_the_simulation_at_the_instant_observed():
    env = ReconfEnv(SCENARIO, set=SHORT, reward="energy")
    obs, _ = env.reset(seed=1)
    names = env.observation_names
    assert obs[names.index("node.3.on")] == 0.0
    power_on_3 = env.action_names.index("power-on node 3")
    obs, r, *_ = env.step(power_on_3)
    assert obs[names.index("node.3.transition")] == 1.0  # booting 30 s later (boot takes 60 s)
    obs, r, *_ = env.step(0)
    obs, r, *_, info = env.step(0)
    assert obs[names.index("node.3.on")] == 1.0
    # The energy reward is the nodes' energy over the period, negated.
    assert r < 0 and r == pytest.approx(-info["energy_kwh"])
    env.close()


def test_rewards_are_configurable():
    env = ReconfEnv(SCENARIO, set=SHORT, reward=lambda view: view.now_s)
    env.reset(seed=1)
    assert env.step(0)[1] == 60.0
    with pytest.raises(ValueError):
        ReconfEnv(SCENARIO, reward="profit")
    custom = ReconfEnv(
        SCENARIO,
        set=SHORT,
        action_space=gym.spaces.Discrete(2),
        action_fn=lambda view, a: [reconf.PowerOn(node=1)] if a == 1 else [],
        max_steps=3,
    )
    custom.reset(seed=1)
    assert custom.step(1)[3] is False
    custom.step(0)
    assert custom.step(0)[3] is True  # max_steps
