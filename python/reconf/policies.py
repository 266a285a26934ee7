"""Policies written in Python, for the simulator's ``Policy`` seam (``reconf.run(...,
policy=...)``) and as examples to start from.

:class:`ThresholdMigration` is a line-by-line port of the built-in ``threshold-migration``
policy (``policies/src/threshold_migration.rs``): on the same scenario and seed it gives exactly
the same run (the package's tests check the summaries are equal).
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from ._reconf import Migrate, PowerOff, PowerOn, View


class Sustained:
    """Whether a condition has held without interruption for a given time (the Rust policies'
    ``Sustained``)."""

    def __init__(self) -> None:
        self.since_s: Optional[float] = None

    def update(self, now_s: float, holds: bool, for_s: float) -> bool:
        if not holds:
            self.since_s = None
            return False
        if self.since_s is None:
            self.since_s = now_s
        return now_s - self.since_s >= for_s


class Window:
    """The mean of the samples of the last ``window_s`` seconds (always at least the newest)."""

    def __init__(self) -> None:
        self.samples: deque = deque()

    def push(self, now_s: float, value: float, window_s: float) -> float:
        self.samples.append((now_s, value))
        while len(self.samples) > 1 and self.samples[0][0] <= now_s - window_s:
            self.samples.popleft()
        # Added in order, one by one, as the Rust version does (Python 3.12's sum() of floats
        # compensates rounding, which would change the last bits).
        total = 0.0
        for _, v in self.samples:
            total += v
        return total / len(self.samples)


class _Plan:
    """A node as the policy plans on it: projected busy cores and free RAM."""

    __slots__ = ("id", "cores", "busy_cores", "free_ram_mb")

    def __init__(self, id: int, cores: float, busy_cores: float, free_ram_mb: float):
        self.id = id
        self.cores = cores
        self.busy_cores = busy_cores
        self.free_ram_mb = free_ram_mb

    def copy(self) -> "_Plan":
        return _Plan(self.id, self.cores, self.busy_cores, self.free_ram_mb)


def idle_nodes(view: View) -> list[int]:
    """Nodes that are on, host nothing and are not involved in an action."""
    return [
        n.id
        for n in view.nodes
        if n.state == "on" and n.replica is None and not n.vms and not view.node_busy_with_actions(n.id)
    ]


class ThresholdMigration:
    """Migration-based elasticity: when a node's smoothed CPU stays above ``high`` for ``for_s``
    seconds, the least-loaded VM that fits elsewhere is live-migrated off it (a node is powered
    on when none fits); under-loaded nodes (below ``low``) are emptied onto the others,
    first-fit decreasing, and empty nodes are powered off. Parameters and defaults as the
    built-in ``threshold-migration`` (``reconf policies``)."""

    name = "threshold-migration"

    def __init__(
        self,
        high: float = 0.6,
        low: float = 0.25,
        for_s: float = 30.0,
        window_s: float = 60.0,
        cooldown_s: float = 60.0,
        power_off_idle: bool = True,
    ):
        self.high = high
        self.low = low
        self.for_s = for_s
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.power_off_idle = power_off_idle
        self.nodes: dict[int, tuple[Window, Sustained, Sustained]] = {}
        self.last_action_s: Optional[float] = None

    def fits(self, p: _Plan, vm_cores: float, vm_ram_mb: float) -> bool:
        return p.free_ram_mb >= vm_ram_mb and (p.busy_cores + vm_cores) / p.cores <= self.high

    def decide(self, view: View) -> list:
        actions: list = []
        now = view.now_s
        nodes = view.nodes
        cpu: dict[int, float] = {}
        overloaded: list[int] = []
        underloaded: list[int] = []
        for n in nodes:
            if n.state != "on":
                continue
            window, above, below = self.nodes.setdefault(n.id, (Window(), Sustained(), Sustained()))
            c = window.push(now, n.cpu_utilisation, self.window_s)
            cpu[n.id] = c
            if above.update(now, c > self.high, self.for_s):
                overloaded.append(n.id)
            if below.update(now, c < self.low, self.for_s) and n.vms:
                underloaded.append(n.id)
        busy = any(isinstance(a.action, (Migrate, PowerOn)) for a in view.in_flight())
        cooling = self.last_action_s is not None and now - self.last_action_s < self.cooldown_s
        if not busy and not cooling:
            plans = [
                _Plan(n.id, n.cores, cpu[n.id] * n.cores, n.free_ram_mb) for n in nodes if n.state == "on"
            ]
            if overloaded:
                actions = self.spread(view, plans, overloaded)
            elif len(underloaded) >= 2 or (len(underloaded) == 1 and len(plans) >= 2):
                actions = self.consolidate(view, plans, underloaded)
            if actions:
                self.last_action_s = now
        # An empty node may be just what an overloaded one needs: power off only when none is.
        any_hot = any(c > self.high for c in cpu.values())
        if self.power_off_idle and not busy and not any_hot:
            targets = [a.to for a in actions if isinstance(a, Migrate)]
            on = sum(1 for n in nodes if n.state == "on")
            for k, n in enumerate(idle_nodes(view)):
                if n not in targets and on - k > 1:
                    actions.append(PowerOff(node=n))
        return actions

    def spread(self, view: View, plans: list[_Plan], overloaded: list[int]) -> list:
        actions: list = []
        for src in overloaded:
            src_vms = view.node(src).vms
            if len(src_vms) < 2:
                continue  # a VM alone on its node is as well there as anywhere
            vms = [v for v in src_vms if view.vm(v).migrating_to is None]
            vms.sort(key=lambda v: (view.vm(v).cpu_cores_used, v))
            moved = False
            for v in vms:
                vm = view.vm(v)
                candidates = [p for p in plans if p.id != src and self.fits(p, vm.cpu_cores_used, vm.ram_mb)]
                if candidates:
                    to = min(candidates, key=lambda p: (p.busy_cores / p.cores, p.id)).id
                    for p in plans:
                        if p.id == to:
                            p.busy_cores += vm.cpu_cores_used
                            p.free_ram_mb -= vm.ram_mb
                        if p.id == src:
                            p.busy_cores -= vm.cpu_cores_used
                            p.free_ram_mb += vm.ram_mb
                    actions.append(Migrate(vm=v, to=to))
                    moved = True
                    break
            if not moved:
                # A new node helps only if one of this node's VMs would fit on it alone.
                nodes = view.nodes
                booting = any(n.state == "booting" for n in nodes)
                off = next((n for n in nodes if n.state == "off"), None)
                helps = False
                if off is not None:
                    empty = _Plan(off.id, off.cores, 0.0, off.ram_mb - view.host_reserved_ram_mb)
                    helps = any(
                        self.fits(empty, view.vm(v).cpu_cores_used, view.vm(v).ram_mb) for v in src_vms
                    )
                if not booting and helps and off is not None:
                    actions.append(PowerOn(node=off.id))
                    return actions
        return actions

    def consolidate(self, view: View, plans: list[_Plan], underloaded: list[int]) -> list:
        def utilisation(node: int) -> float:
            for p in plans:
                if p.id == node:
                    return p.busy_cores / p.cores
            return 0.0

        if not underloaded:
            return []
        src = min(underloaded, key=lambda n: (utilisation(n), n))
        vms = list(view.node(src).vms)
        # Decreasing CPU, then decreasing RAM: the classic first-fit decreasing order.
        vms.sort(key=lambda v: (-view.vm(v).cpu_cores_used, -view.vm(v).ram_mb, v))
        # Only nodes that already host VMs receive: moving everything to an empty node would
        # save nothing.
        trial = [p.copy() for p in plans if p.id != src and view.node(p.id).vms]
        # Fill the fullest nodes first, so that the emptiest stay empty.
        trial.sort(key=lambda p: (-(p.busy_cores / p.cores), p.id))
        moves: list = []
        for v in vms:
            vm = view.vm(v)
            dest = next(
                (
                    p
                    for p in trial
                    if p.free_ram_mb >= vm.ram_mb and (p.busy_cores + vm.cpu_cores_used) / p.cores <= self.high
                ),
                None,
            )
            if dest is None:
                return []  # not everything fits: keep the node
            dest.busy_cores += vm.cpu_cores_used
            dest.free_ram_mb -= vm.ram_mb
            moves.append(Migrate(vm=v, to=dest.id))
        return moves


class Noop:
    """A policy that never acts: what a Python policy costs the simulator by itself."""

    name = "noop"

    def decide(self, view: View) -> list:
        return []
