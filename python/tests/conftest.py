import os
from pathlib import Path

import pytest

#: The repository's root: the tests run the shipped scenarios.
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scenarios() -> Path:
    return ROOT / "scenarios"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)
