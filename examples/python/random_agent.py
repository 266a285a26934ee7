"""A random agent on the Gymnasium environment: one episode of the migration scenario, actions
drawn uniformly, with the reward and what the run gave at the end.

    python examples/python/random_agent.py [SEED]     # from the repository's root
"""

import sys

from reconf.gym import ReconfEnv

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
env = ReconfEnv("scenarios/paper/migration-steps.toml", reward="weighted", sla_weight=1.0, energy_weight_per_kwh=10.0)
print(f"observation: {env.observation_space.shape[0]} values ({', '.join(env.observation_names[:5])}, ...)")
print(f"actions: {env.action_space.n} ({', '.join(env.action_names[:4])}, ...)")

obs, info = env.reset(seed=seed)
env.action_space.seed(seed)
total, steps, refused = 0.0, 0, 0
while True:
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    total += reward
    steps += 1
    refused += info["refused"]
    if terminated or truncated:
        break
summary = info["summary"]
print(f"{steps} steps, total reward {total:.2f}, {refused} actions refused")
print(
    f"the run: p95 {summary['p95_response_ms']:.0f} ms, SLA violations "
    f"{summary['sla_violation_fraction']:.3f}, {summary['migrations']} migrations, "
    f"{summary['energy_kwh']:.3f} kWh"
)
print(summary.timeseries[["time_s", "active_clients", "p95_response_ms", "nodes_up", "power_w"]].iloc[::36].to_string(index=False))
