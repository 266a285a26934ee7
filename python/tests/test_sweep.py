"""reconf.sweep: the CLI's batch runner, its tables as DataFrames."""

import json

import pytest

import reconf


def test_a_sweep_returns_runs_and_aggregates(scenarios, tmp_path):
    s = reconf.sweep(
        scenarios / "examples/rubis.toml",
        seeds=2,
        set={"duration_s": 120, "apps[0].tiers[1].replicas": [1, 2]},
        baseline={"replicas": 1},
        out=tmp_path / "sw",
        jobs=2,
    )
    assert s.counts == {"runs": 4, "ok": 4, "failed": 0, "ran": 4, "kept": 0}
    assert len(s.runs) == 4 and sorted(s.runs["seed"]) == [1, 1, 2, 2]
    assert len(s.aggregate) == 2
    assert "p95_response_ms.mean" in s.aggregate.columns
    # Each run is the run reconf.run gives for its configuration and seed.
    one = reconf.run(scenarios / "examples/rubis.toml", seed=2, set={"duration_s": 120, "apps[0].tiers[1].replicas": 2})
    row = s.runs[(s.runs["seed"] == 2) & (s.runs["apps[0].tiers[1].replicas"] == 2)].iloc[0]
    assert row["requests_completed"] == one["requests_completed"]
    # Run again: everything is kept from before.
    again = reconf.sweep(
        scenarios / "examples/rubis.toml",
        seeds=range(1, 3),
        set=["duration_s=120", "apps[0].tiers[1].replicas=1,2"],
        baseline="replicas=1",
        out=tmp_path / "sw",
    )
    assert again.counts["kept"] == 4 and again.counts["ran"] == 0


def test_a_sweep_without_out_uses_a_temporary_folder(scenarios):
    s = reconf.sweep([scenarios / "examples/rubis.toml"], seeds=1, set={"duration_s": 60})
    assert s.out is None and len(s.runs) == 1


def test_bad_sweeps_raise_scenario_error(scenarios):
    with pytest.raises(reconf.ScenarioError, match="--seeds"):
        reconf.sweep(scenarios / "examples/rubis.toml", set={"duration_s": 60})
    with pytest.raises(reconf.ScenarioError, match="--set"):
        reconf.sweep(scenarios / "examples/rubis.toml", seeds=1, set=["duration_s"])
    # A value that makes a run's scenario invalid fails that run, as with the CLI (exit code 1);
    # the message carries the run's error, the folder being temporary.
    with pytest.raises(reconf.SimulationError, match=r"1 of 2 runs failed.*duration_s"):
        reconf.sweep(scenarios / "examples/rubis.toml", seeds=1, set={"duration_s": [60, -1]})


# Sweeps with a Python policy: a new policy per run, the same results whatever the threads.

NOT_COMPARED_COLUMNS = ("wall_seconds", "events_per_s", "provenance")


def _comparable_table(frame):
    return frame[[c for c in frame.columns if not any(k in c for k in NOT_COMPARED_COLUMNS)]].to_csv(index=False)


def _comparable_summary(path):
    import json

    s = json.loads(path.read_text())
    return {k: v for k, v in s.items() if k not in NOT_COMPARED_COLUMNS}


class RandomMigrator:
    """Every control instant, with probability 0.5, migrates a random VM to a random node
    (refusals and power-ons included): a policy whose decisions depend on its own random
    stream, seeded from the run's seed, and on what it saw before."""

    def __init__(self, seed):
        import random

        self.rng = random.Random(seed)
        self.decisions = 0

    def decide(self, view):
        self.decisions += 1
        if self.rng.random() < 0.5 or not view.vms:
            return []
        vm = self.rng.choice(view.vms)
        return [reconf.Migrate(vm=vm.id, to=self.rng.randrange(len(view.nodes)))]


def test_a_sweep_with_a_python_policy_gives_the_same_bytes_on_1_and_2_threads(scenarios, tmp_path):
    from reconf.policies import ThresholdMigration

    path = scenarios / "paper/migration-steps.toml"
    axes = {"duration_s": 1800, "apps[0].tiers[1].replicas": [2, 3]}
    folders = {}
    for jobs in (1, 2):
        for name, policy in (("random", RandomMigrator), ("threshold", ThresholdMigration)):
            out = tmp_path / f"{name}-{jobs}"
            s = reconf.sweep(path, seeds=2, set=axes, out=out, jobs=jobs, policy=policy)
            assert s.counts == {"runs": 4, "ok": 4, "failed": 0, "ran": 4, "kept": 0}
            folders[name, jobs] = (s, out)
    for name in ("random", "threshold"):
        (one, out1), (two, out2) = folders[name, 1], folders[name, 2]
        assert _comparable_table(one.runs) == _comparable_table(two.runs)
        assert _comparable_table(one.aggregate) == _comparable_table(two.aggregate)
        runs = sorted(p.name for p in (out1 / "runs").iterdir())
        assert len(runs) == 4 and runs == sorted(p.name for p in (out2 / "runs").iterdir())
        for run in runs:
            assert _comparable_summary(out1 / "runs" / run / "summary.json") == _comparable_summary(
                out2 / "runs" / run / "summary.json"
            )
            for f in ("timeseries.csv", "actions.csv", "nodes.csv"):
                assert (out1 / "runs" / run / f).read_bytes() == (out2 / "runs" / run / f).read_bytes()
        assert json.loads((out1 / "sweep.json").read_text())["policy"] == f"python:{'RandomMigrator' if name == 'random' else 'threshold-migration'}"
    # The policy did act, and differently per seed (its stream is the run's seed's).
    random_runs = folders["random", 1][0].runs
    assert (random_runs["migrations"] + random_runs["actions_refused"]).min() > 0
    assert random_runs["actions_refused"].nunique() > 1 or random_runs["migrations"].nunique() > 1
    # Each run is the run reconf.run gives with a new policy of its own.
    one = reconf.run(path, seed=2, set={"duration_s": 1800, "apps[0].tiers[1].replicas": 3}, policy=RandomMigrator(2))
    row = random_runs[(random_runs["seed"] == 2) & (random_runs["apps[0].tiers[1].replicas"] == 3)].iloc[0]
    for key in ("migrations", "actions_refused", "requests_completed", "energy_kwh"):
        assert row[key] == one[key]
    threshold = folders["threshold", 1][0].runs
    rust = reconf.sweep(path, seeds=2, set=axes, jobs=2)
    assert threshold["migrations"].min() > 0
    # The Python port of threshold-migration in a sweep gives the built-in policy's sweep.
    assert _comparable_table(threshold.drop(columns=["status", "error"], errors="ignore")) == _comparable_table(
        rust.runs.drop(columns=["status", "error"], errors="ignore")
    )


class Buggy:
    def __init__(self):
        self.calls = 0

    def decide(self, view):
        self.calls += 1
        if view.now_s >= 60:
            return [1 / 0]
        return []


def test_a_python_policy_that_raises_fails_its_run_and_a_resume_with_another_policy_is_refused(scenarios, tmp_path):
    path = scenarios / "paper/migration-steps.toml"
    out = tmp_path / "sw"
    with pytest.raises(reconf.SimulationError, match=r"2 of 2 runs failed.*first error: run .*the policy Buggy raised ZeroDivisionError: division by zero \(at test_sweep.py:\d+\)"):
        reconf.sweep(path, seeds=2, set={"duration_s": 300}, out=out, policy=Buggy)
    error = next((out / "runs").iterdir()) / "error.txt"
    assert "ZeroDivisionError" in error.read_text()
    # A policy object is copied for each run: the original is not used.
    template = Buggy()
    done = reconf.sweep(path, seeds=2, set={"duration_s": 50}, out=tmp_path / "ok", policy=template)
    assert done.counts["ok"] == 2 and template.calls == 0
    # Resuming that folder with another policy, or with the scenario's own, is refused.
    with pytest.raises(reconf.ScenarioError, match=r"made with the policy `python:Buggy`, not the policy `python:RandomMigrator`"):
        reconf.sweep(path, seeds=2, set={"duration_s": 50}, out=tmp_path / "ok", policy=RandomMigrator)
    with pytest.raises(reconf.ScenarioError, match=r"made with the policy `python:Buggy`, not the scenarios' own policies"):
        reconf.sweep(path, seeds=2, set={"duration_s": 50}, out=tmp_path / "ok")
    again = reconf.sweep(path, seeds=2, set={"duration_s": 50}, out=tmp_path / "ok", policy=Buggy)
    assert again.counts["kept"] == 2
    with pytest.raises(TypeError, match="policy: a policy class"):
        reconf.sweep(path, seeds=1, policy=42)
