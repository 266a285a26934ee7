"""reconf.run / reconf.load: scenarios as paths, TOML text and dicts; overrides; errors with the
CLI's messages; the run's tables as DataFrames."""

import json
import tomllib

import pandas as pd
import pytest

import reconf

SHORT = {"duration_s": 300}
#: Keys that differ between two runs of the same scenario and seed (wall time, provenance).
NOT_COMPARED = {"provenance", "wall_seconds", "events_per_s"}


def same_run(a, b):
    return {k: v for k, v in a.items() if k not in NOT_COMPARED} == {
        k: v for k, v in b.items() if k not in NOT_COMPARED
    }


def test_a_run_returns_the_summary_and_the_time_series(scenarios):
    r = reconf.run(scenarios / "examples/rubis.toml", seed=3, set=SHORT)
    assert isinstance(r, dict)
    assert r["seed"] == 3 and r["scenario"] == "rubis-ramp"
    assert r["sim_seconds"] == 300
    assert r["provenance"]["seed"] == 3
    ts = r.timeseries
    assert isinstance(ts, pd.DataFrame)
    # One row per 10 s report interval, the columns of timeseries.csv.
    assert list(ts["time_s"]) == [10.0 * i for i in range(1, 31)]
    assert list(ts.columns) == r.files["timeseries.csv"].splitlines()[0].split(",")
    assert ts["throughput_rps"].gt(0).all()
    assert set(r.actions.columns) >= {"kind", "start_s"}
    # The summary is summary.json's.
    assert json.loads(r.files["summary.json"]) == dict(r)


def test_a_path_toml_text_and_a_dict_give_the_same_run(scenarios):
    path = scenarios / "examples/rubis.toml"
    text = path.read_text()
    as_dict = tomllib.loads(text)
    runs = [reconf.run(s, set=SHORT) for s in (path, str(path), text, as_dict)]
    for r in runs[1:]:
        assert same_run(r, runs[0])
    assert runs[0].files["timeseries.csv"] == runs[3].files["timeseries.csv"]


def test_the_same_seed_gives_the_same_run_and_another_seed_another(scenarios):
    path = scenarios / "examples/rubis.toml"
    a, b = reconf.run(path, seed=5, set=SHORT), reconf.run(path, seed=5, set=SHORT)
    c = reconf.run(path, seed=6, set=SHORT)
    assert same_run(a, b) and a.files["timeseries.csv"] == b.files["timeseries.csv"]
    assert a["requests_completed"] != c["requests_completed"]


def test_overrides_as_a_dict_or_as_the_clis_strings(scenarios):
    path = scenarios / "examples/rubis.toml"
    a = reconf.run(path, set={"duration_s": 200, "sla.response_target_ms": 123.0})
    b = reconf.run(path, set=["duration_s=200", "sla.response_target_ms=123.0"])
    assert same_run(a, b)
    assert a["sim_seconds"] == 200 and a["sla_target_ms"] == 123.0


def test_bad_input_raises_scenario_error_with_the_clis_line(scenarios, tmp_path):
    path = scenarios / "examples/rubis.toml"
    with pytest.raises(reconf.ScenarioError) as e:
        reconf.run(path, set={"duration_s": -1})
    assert str(e.value) == "--set duration_s=-1: field `duration_s`: must be a number greater than 0, got -1"
    assert isinstance(e.value, ValueError)
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace("duration_s = 3600", "duration_s = 3600\nduraton = 1"))
    with pytest.raises(reconf.ScenarioError) as e:
        reconf.load(bad)
    message = str(e.value)
    assert message.startswith(f"{bad}:15:") and "duraton" in message and "\n" not in message
    with pytest.raises(reconf.ScenarioError, match=r"^missing\.toml: cannot read scenario"):
        reconf.run("missing.toml")
    with pytest.raises(reconf.ScenarioError, match=r"^<string>: "):
        reconf.run("duration_s = 10\n")
    with pytest.raises(reconf.ScenarioError, match="seed"):
        reconf.run(path, seed=-1)


def test_out_writes_the_run_folder_like_the_cli(scenarios, tmp_path):
    r = reconf.run(scenarios / "examples/rubis.toml", set=SHORT, out=tmp_path / "run")
    written = json.loads((tmp_path / "run/summary.json").read_text())
    assert {k: v for k, v in written.items() if k not in NOT_COMPARED} == {
        k: v for k, v in r.items() if k not in NOT_COMPARED
    }
    assert (tmp_path / "run/timeseries.csv").read_text() == r.files["timeseries.csv"]
    assert (tmp_path / "run/scenario.toml").exists()


def test_a_loaded_scenario_can_be_run_again_with_other_settings(scenarios):
    s = reconf.load(scenarios / "examples/rubis.toml", set=SHORT)
    assert s.name == "rubis-ramp" and s.duration_s == 300
    assert "rubis-ramp" in repr(s)
    a = reconf.run(s, seed=9)
    b = reconf.run(scenarios / "examples/rubis.toml", seed=9, set=SHORT)
    assert same_run(a, b)
