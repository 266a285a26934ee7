"""A policy written in Python, run by the simulator through the same seam as a built-in one.

    python examples/python/python_policy.py          # from the repository's root

`Consolidate` below is a deliberately small migration-based policy: every control period it
moves one VM off a node whose CPU is above `high`, to the least-loaded node that stays below it,
powering a node on when none is. It is compared with the built-in `threshold-migration` and with
its Python port (`reconf.policies.ThresholdMigration`, which gives the very same run).
"""

import reconf
from reconf.policies import ThresholdMigration

SCENARIO = "scenarios/paper/migration-steps.toml"


class Consolidate:
    name = "consolidate-example"

    def __init__(self, high=0.7):
        self.high = high

    def decide(self, view):
        if any(True for _ in view.in_flight()):
            return []  # one reconfiguration at a time
        on = [n for n in view.nodes if n.state == "on"]
        for node in sorted(on, key=lambda n: -n.cpu_utilisation):
            if node.cpu_utilisation <= self.high or len(node.vms) < 2:
                continue
            vm = min((view.vm(v) for v in node.vms), key=lambda v: (v.cpu_cores_used, v.id))
            for dest in sorted(on, key=lambda n: (n.cpu_utilisation, n.id)):
                busy = dest.cpu_utilisation * dest.cores + vm.cpu_cores_used
                if dest.id != node.id and dest.free_ram_mb >= vm.ram_mb and busy / dest.cores <= self.high:
                    return [reconf.Migrate(vm=vm.id, to=dest.id)]
            off = [n for n in view.nodes if n.state == "off"]
            return [reconf.PowerOn(node=off[0].id)] if off else []
        return []


class Show:
    """Wraps a policy and prints its first view and its actions."""

    def __init__(self, policy):
        self.policy, self.name, self.shown = policy, policy.name, False

    def decide(self, view):
        if not self.shown:
            print(view)
            for n in view.nodes[:2]:
                print("  ", n)
            print("  ", view.apps[0])
            self.shown = True
        actions = self.policy.decide(view)
        for a in actions:
            print(f"  t = {view.now_s:6.0f} s: {a!r}")
        return actions


rows = [
    ("threshold-migration (built in)", reconf.run(SCENARIO)),
    ("ThresholdMigration (Python port)", reconf.run(SCENARIO, policy=ThresholdMigration())),
    ("Consolidate (this file)", reconf.run(SCENARIO, policy=Show(Consolidate()))),
]
print(f"\n{'policy':34} {'p95 ms':>8} {'SLA viol.':>9} {'migr.':>5} {'kWh':>6}")
for name, r in rows:
    print(
        f"{name:34} {r['p95_response_ms']:8.1f} {r['sla_violation_fraction']:9.3f} "
        f"{r['migrations']:5d} {r['energy_kwh']:6.3f}"
    )
