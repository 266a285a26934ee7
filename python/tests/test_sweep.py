"""reconf.sweep: the CLI's batch runner, its tables as DataFrames."""

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
