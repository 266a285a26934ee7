"""``reconf.load``, ``reconf.run`` and ``reconf.sweep``: thin wrappers over the library's own
loader, simulator and batch runner (the functions the CLI uses)."""

from __future__ import annotations

import copy
import inspect
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _reconf
from ._reconf import ScenarioError

ScenarioLike = Union[str, "os.PathLike[str]", Mapping[str, Any], "_reconf.Scenario"]

#: The default of the CLI's ``--max-memory-mb``: a scenario whose estimated memory exceeds it
#: is refused.
DEFAULT_MAX_MEMORY_MB = 8000


def toml_value(value: Any) -> str:
    """A Python value as a TOML value, for ``set`` assignments: numbers and booleans as such,
    strings quoted, lists as arrays, dicts as inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON's string escapes are valid in a TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ScenarioError(f"set: cannot write {value!r} ({type(value).__name__}) as a TOML value")


def _assignments(set: Union[None, Mapping[str, Any], Iterable[str]]) -> list[str]:
    """``set`` as the CLI's ``--set PATH=VALUE`` arguments: a dict of Python values, or strings
    already in the CLI's form (``"apps[0].tiers[1].replicas=3"``)."""
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{k}={toml_value(v)}" for k, v in set.items()]
    if isinstance(set, str):
        return [set]
    return [str(s) for s in set]


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and (text.strip().endswith(".toml") or os.path.exists(text))


def load(
    scenario: ScenarioLike,
    seed: Optional[int] = None,
    set: Union[None, Mapping[str, Any], Iterable[str]] = None,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
) -> _reconf.Scenario:
    """Loads and validates a scenario as ``reconf validate`` does.

    ``scenario``: a path (``pathlib.Path``, or a ``str`` that names a file or ends in
    ``.toml``), TOML text (any other ``str``), or a ``dict`` of the scenario's tables. File names
    inside TOML text or a dict are relative to the current directory. ``seed`` overrides the
    scenario's seed; ``set`` applies overrides in order, as ``--set`` does. Raises
    :class:`ScenarioError` with the CLI's message.
    """
    sets = _assignments(set)
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**63 - 1:
            raise ScenarioError(f"seed: must be an integer from 0 to 9223372036854775807, got {seed!r}")
        sets.append(f"seed={seed}")
    if isinstance(scenario, _reconf.Scenario):
        if sets:
            # Reload its resolved text with the new assignments.
            return _reconf.load_scenario(
                "text", scenario.resolved_toml(), sets, max_memory_mb, scenario.source, None
            )
        return scenario
    if isinstance(scenario, Mapping):
        text = _reconf.toml_of_json(json.dumps(scenario))
        return _reconf.load_scenario("text", text, sets, max_memory_mb, "<dict>", os.getcwd())
    if isinstance(scenario, os.PathLike):
        return _reconf.load_scenario("path", os.fspath(scenario), sets, max_memory_mb)
    if isinstance(scenario, str):
        if _looks_like_path(scenario):
            return _reconf.load_scenario("path", scenario, sets, max_memory_mb)
        return _reconf.load_scenario("text", scenario, sets, max_memory_mb, "<string>", os.getcwd())
    raise TypeError(
        f"a scenario is a path, TOML text, a dict or a reconf.Scenario, not {type(scenario).__name__}"
    )


class RunResult(dict):
    """The summary of a run (``summary.json``, with its ``provenance``) as a ``dict``, with the
    run's tables as pandas DataFrames, parsed when first asked for:

    - ``timeseries``: ``timeseries.csv`` (one row per report interval);
    - ``actions``: ``actions.csv`` (every reconfiguration action);
    - ``nodes``: ``nodes.csv`` (per node and interval).

    The texts of the files are kept in ``files`` (``{"summary.json": ..., ...}``).
    """

    def __init__(self, output: "_reconf.Output"):
        super().__init__(json.loads(output.summary_json))
        self.files = {
            "summary.json": output.summary_json,
            "timeseries.csv": output.timeseries_csv,
            "actions.csv": output.actions_csv,
            "nodes.csv": output.nodes_csv,
        }
        self._frames: dict[str, Any] = {}

    def _frame(self, name: str):
        if name not in self._frames:
            import pandas as pd

            self._frames[name] = pd.read_csv(io.StringIO(self.files[name]))
        return self._frames[name]

    @property
    def summary(self) -> dict:
        """The summary as a plain dict."""
        return dict(self)

    @property
    def timeseries(self):
        return self._frame("timeseries.csv")

    @property
    def actions(self):
        return self._frame("actions.csv")

    @property
    def nodes(self):
        return self._frame("nodes.csv")


def run(
    scenario: ScenarioLike,
    seed: Optional[int] = None,
    set: Union[None, Mapping[str, Any], Iterable[str]] = None,
    policy: Any = None,
    out: Union[None, str, "os.PathLike[str]"] = None,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
) -> RunResult:
    """Runs a scenario to its end, as ``reconf run`` does, and returns its :class:`RunResult`
    (the summary dict; ``.timeseries`` is the time series as a pandas DataFrame).

    ``policy``: an object with ``decide(view) -> list of actions`` that replaces the scenario's
    policy (whose ``[policy]`` table then only sets the control period and monitoring noise).
    ``out``: also write the run folder there, as ``reconf run --out`` does. An exception raised
    by the policy stops the run and propagates; a run that stalls raises
    :class:`SimulationError`.
    """
    loaded = load(scenario, seed=seed, set=set, max_memory_mb=max_memory_mb)
    out_path = None if out is None else Path(out)
    return RunResult(_reconf.run(loaded, policy, out_path))


def live(
    scenario: ScenarioLike,
    uris: Union[str, Sequence[str]],
    policy: Any = None,
    out: Union[str, "os.PathLike[str]"] = "out/live",
    duration_s: Optional[float] = None,
    dry_run: bool = False,
    seed: Optional[int] = None,
    set: Union[None, Mapping[str, Any], Iterable[str]] = None,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
) -> RunResult:
    """Runs a scenario against real hosts through libvirt, as ``reconf live`` does (the same
    run: the same view, actions, refusals and run folder), and returns its :class:`RunResult`.

    ``uris``: one libvirt URI per node, in order (``"qemu:///system"``,
    ``"qemu+ssh://root@host2/system"``, ``"test:///default"``): node k is the k-th URI.
    ``policy``: an object with ``decide(view) -> list of actions`` that replaces the scenario's
    policy, every ``policy.period_s`` of wall-clock time, as in :func:`run` (``None``: the
    scenario's own, or monitoring only if it names none). ``out``: the run folder, rewritten
    after every control period so that an interrupted run keeps its files. ``duration_s``:
    wall-clock seconds (default: the scenario's ``duration_s``). ``dry_run``: record the
    actions as refused ("dry run: not carried out") instead of carrying them out.

    Ctrl-C ends the run as SIGINT ends ``reconf live`` (migrations in flight aborted, so that
    each VM runs on exactly one host; the files written), then raises ``KeyboardInterrupt``. A
    policy that raises ends the run the same way, then its exception propagates. Bad input
    raises :class:`ScenarioError`, a host that does not answer :class:`SimulationError`, with
    the CLI's messages. Needs the package built with the live backend
    (``MATURIN_PEP517_ARGS="--features libvirt" pip install ./python``; ``reconf.HAS_LIBVIRT``
    says whether it was): otherwise raises ``RuntimeError``.
    """
    loaded = load(scenario, seed=seed, set=set, max_memory_mb=max_memory_mb)
    if isinstance(uris, str):
        uris = [uris]
    return RunResult(_reconf.live(loaded, [str(u) for u in uris], Path(out), policy, dry_run, duration_s))


class SweepResult:
    """A finished sweep: ``runs`` (``runs.csv``: one row per run, summaries flattened with dots)
    and ``aggregate`` (``aggregate.csv``: mean, sd and 95% CI per configuration) as pandas
    DataFrames, ``counts`` (runs, ok, failed, ran now, kept from before) and ``out``, the sweep
    folder (None when it was a temporary one, removed once read)."""

    def __init__(self, runs, aggregate, counts: dict, out: Optional[Path]):
        self.runs = runs
        self.aggregate = aggregate
        self.counts = counts
        self.out = out

    def __repr__(self) -> str:
        return f"SweepResult(counts={self.counts}, out={str(self.out) if self.out else None!r})"


def _first_error(folder: Path) -> str:
    """The error of the first failed run of a sweep folder's runs.csv."""
    import csv

    try:
        with open(folder / "runs.csv", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("status") != "ok" and row.get("error"):
                    return f"run {row.get('id')}: {row['error']}"
    except OSError:
        pass
    return "unknown"


def _axis_values(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return ",".join(toml_value(v) for v in values)
    return toml_value(values)


def _policy_name(policy: Any) -> str:
    """How a Python policy is named: its ``name`` attribute if it is a string, else its class's
    (or function's) name."""
    name = getattr(policy, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(policy, type) or inspect.isfunction(policy):
        return policy.__name__
    return type(policy).__name__


def _takes_seed(make: Any) -> bool:
    try:
        return "seed" in inspect.signature(make).parameters
    except (TypeError, ValueError):
        return False


def _policy_factory(policy: Any):
    """``policy`` of :func:`sweep` as a function of the run's seed that returns a new policy."""
    if isinstance(policy, type) or (callable(policy) and not hasattr(policy, "decide")):
        make = policy
        if _takes_seed(make):
            return lambda seed: make(seed=seed)
        return lambda seed: make()
    if hasattr(policy, "decide"):
        return lambda seed: copy.deepcopy(policy)
    raise TypeError(
        "policy: a policy class, a function returning a policy, or a policy object (an object "
        f"with decide(view)), not {type(policy).__name__}"
    )


def sweep(
    scenarios: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]],
    seeds: Union[int, str, range, None] = None,
    set: Union[None, Mapping[str, Any], Iterable[str]] = None,
    baseline: Union[None, str, Mapping[str, Any], Iterable[str]] = None,
    out: Union[None, str, "os.PathLike[str]"] = None,
    jobs: Optional[int] = None,
    keep: str = "all",
    max_runs: Optional[int] = None,
    progress: bool = False,
    policy: Any = None,
) -> SweepResult:
    """Runs a batch as ``reconf sweep`` does: scenario files (or one sweep file) × the product of
    the ``set`` axes × seeds, in parallel; returns its tables as DataFrames.

    ``seeds``: ``N`` (seeds 1..=N), ``"FIRST..LAST"``, or a ``range`` of consecutive seeds.
    ``set``: axes, ``{"apps[0].tiers[1].replicas": [1, 2, 3]}`` (a single value is an axis of one
    value), or the CLI's strings (``"apps[0].tiers[1].replicas=1,2,3"``). ``baseline``:
    ``{"replicas": 2}`` or ``"replicas=2"`` or ``"scenario=LABEL"``. ``out``: the sweep folder
    (resumed if it exists); without it a temporary folder is used and removed once read.
    Raises :class:`ScenarioError` for bad input and :class:`SimulationError` if runs failed.

    ``policy``: a Python policy for every run, in place of the scenarios' own (whose
    ``[policy]`` then only sets the control period and the monitoring noise), as in
    :func:`run`. Each run gets a new one: a class (or a function returning a policy) is called
    for each run, as ``policy(seed=SEED)`` if it takes a ``seed`` parameter (the run's seed,
    for a policy that draws random numbers) and ``policy()`` otherwise; a policy object is
    copied (``copy.deepcopy``) for each run. Runs still go in parallel on ``jobs`` threads, but
    the Python ``decide`` calls take turns (one thread runs Python at a time: the GIL), so a
    Python policy's sweep gains from threads only the simulation between control instants. The
    results are the same whatever ``jobs`` is, as long as the policy keeps its state in itself
    (not in globals, class attributes or the ``random`` module's shared generator). A policy
    that raises fails its run (the message, with the file and line, is in ``runs.csv`` and the
    run's ``error.txt``); the other runs go on. ``sweep.json`` names the policy
    (``"policy": "python:NAME"``), and a sweep resumed with another policy (or none) is
    refused: the name is what is checked, so a changed ``decide`` needs a new ``out``.
    """
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = [scenarios]
    argv = [os.fspath(s) for s in scenarios]
    if isinstance(seeds, range):
        if seeds.step != 1 or len(seeds) == 0:
            raise ScenarioError(f"seeds: a range of consecutive seeds, got {seeds!r}")
        seeds = f"{seeds.start}..{seeds.stop - 1}"
    if seeds is not None:
        argv += ["--seeds", str(seeds)]
    if isinstance(set, Mapping):
        argv += [f"--set={k}={_axis_values(v)}" for k, v in set.items()]
    else:
        argv += [f"--set={s}" for s in _assignments(set)]
    if isinstance(baseline, Mapping):
        argv += [f"--baseline={k}={v}" for k, v in baseline.items()]
    elif isinstance(baseline, str):
        argv += [f"--baseline={baseline}"]
    elif baseline is not None:
        argv += [f"--baseline={b}" for b in baseline]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    if max_runs is not None:
        argv += ["--max-runs", str(max_runs)]
    argv += ["--keep", keep]
    if not progress:
        argv.append("--quiet")
    temporary = out is None
    folder = Path(tempfile.mkdtemp(prefix="reconf-sweep-")) / "sweep" if temporary else Path(out)
    argv += ["--out", str(folder)]
    try:
        try:
            if policy is None:
                runs, ok, failed, ran, kept = _reconf.sweep(argv)
            else:
                runs, ok, failed, ran, kept = _reconf.sweep(argv, _policy_factory(policy), _policy_name(policy))
        except _reconf.SimulationError as e:
            raise _reconf.SimulationError(f"{e}; first error: {_first_error(folder)}") from None
        import pandas as pd

        frames = [pd.read_csv(folder / name) for name in ("runs.csv", "aggregate.csv")]
    finally:
        if temporary:
            shutil.rmtree(folder.parent, ignore_errors=True)
    counts = {"runs": runs, "ok": ok, "failed": failed, "ran": ran, "kept": kept}
    return SweepResult(frames[0], frames[1], counts, None if temporary else folder)
