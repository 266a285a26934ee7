"""What a Python policy costs the simulator per control period: the same scenario with a short
control period, run with the built-in `static` policy (Rust, never acts) and with
`reconf.policies.Noop` (Python, never acts); both runs are otherwise identical, so the difference
of their simulation wall times (`wall_seconds` of the summary, the best of several repetitions)
divided by the number of control instants is the cost of the seam: building the view for
Python, calling `decide`, converting its (empty) answer.

    python python/benches/policy_overhead.py [SCENARIO] [PERIOD_S] [REPEAT]
"""

import sys

import reconf
from reconf.policies import Noop

scenario = sys.argv[1] if len(sys.argv) > 1 else "scenarios/paper/migration-steps.toml"
period_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 5

# Few clients and a short run: the control loop, not the users, takes the time.
base = reconf.load(
    scenario,
    set={
        "duration_s": 600,
        "apps[0].clients.profile": {"kind": "constant", "value": 10},
        "policy.name": "static",
        "policy.params": {},
        "policy.period_s": period_s,
    },
)
instants = int(base.duration_s / period_s)


def best(policy):
    return min(reconf.run(base, policy=policy)["wall_seconds"] for _ in range(repeat))


rust = best(None)
python = best(Noop())
print(f"{scenario}: {instants} control instants (period {period_s} s), best of {repeat}")
print(f"  Rust `static`:   {rust:.3f} s")
print(f"  Python no-op:    {python:.3f} s")
print(f"  cost per control period: {(python - rust) / instants * 1e6:.1f} us")
