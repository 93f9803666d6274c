"""Run every ``vignettes/*.py`` script top to bottom (slow; ``python -m pytest -m slow``).

Each vignette runs as a plain script in a fresh interpreter, with the Agg backend and a
temporary working directory, and must not leave files behind in the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = sorted((REPO_ROOT / "vignettes").glob("*.py"))
_IGNORED_DIRS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "build", "dist"}


def _repo_files() -> set[str]:
    files = set()
    for root, dirs, names in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.endswith(".egg-info")
                   and not d.startswith(".venv")]
        files.update(os.path.relpath(os.path.join(root, name), REPO_ROOT) for name in names)
    return files


def test_vignettes_exist():
    assert VIGNETTES, "no vignettes/*.py found"


@pytest.mark.slow
@pytest.mark.parametrize("script", VIGNETTES, ids=[p.name for p in VIGNETTES])
def test_vignette_runs(script, tmp_path):
    before = _repo_files()
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert _repo_files() == before, f"{script.name} wrote into the repository: {_repo_files() - before}"
    assert list(tmp_path.iterdir()) == [], "a vignette should write only to its own temporary folder"
