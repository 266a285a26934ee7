"""A sweep into pandas and a matplotlib figure: p95 response time and SLA violations of the RUBiS
ramp against the number of application-tier replicas, mean and 95% confidence interval over
seeds.

    python examples/python/sweep_figure.py [OUT.png]     # from the repository's root
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import reconf  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/python/sweep.png")
out.parent.mkdir(parents=True, exist_ok=True)

replicas = [1, 2, 3, 4]
s = reconf.sweep(
    "scenarios/examples/rubis.toml",
    seeds=5,
    set={"apps[0].tiers[1].replicas": replicas},
)
axis = "apps[0].tiers[1].replicas"
agg = s.aggregate.sort_values(axis)
print(agg[[axis, "runs_ok", "p95_response_ms.mean", "p95_response_ms.ci_low", "p95_response_ms.ci_high", "sla_violation_fraction.mean"]].to_string(index=False))

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
for ax, key, label in (
    (left, "p95_response_ms", "p95 response time (ms)"),
    (right, "sla_violation_fraction", "SLA violations (fraction of requests)"),
):
    mean = agg[f"{key}.mean"]
    err = [mean - agg[f"{key}.ci_low"], agg[f"{key}.ci_high"] - mean]
    ax.errorbar(agg[axis], mean, yerr=err, marker="o", capsize=4)
    ax.set_xlabel("application-tier replicas")
    ax.set_ylabel(label)
    ax.set_xticks(replicas)
    ax.grid(alpha=0.3)
# One replica is overloaded by two orders of magnitude: a log scale keeps the others readable.
left.set_yscale("log")
right.set_ylim(0, 1)
left.axhline(agg["sla_target_ms.mean"].iloc[0], color="grey", linestyle="--", label="SLA target")
left.legend()
fig.suptitle(f"RUBiS ramp, 100 → 2,000 clients over 1 h: mean and 95% CI over {int(agg['runs_ok'].iloc[0])} seeds")
fig.savefig(out, dpi=120)
print(f"figure in {out}")
