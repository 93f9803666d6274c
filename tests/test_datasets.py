"""Tests for the bundled JOBS II data set (``mediationhte.datasets.loaders``).

The reference values are the fingerprint of R's ``data(jobs)`` (mediation 4.5.1) recorded in
``shared/specs/mediation_r_parity.md`` §4.1.
"""

from __future__ import annotations

import doctest
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mediationhte
from mediationhte import DataError, load_jobs
from mediationhte.datasets import loaders as datasets
from mediationhte.datasets.loaders import JOBS_SHA256, BundledDataError

REPO_ROOT = Path(__file__).resolve().parents[1]

COLUMNS = [
    "treat", "econ_hard", "depress1", "sex", "age", "occp", "marital", "nonwhite", "educ",
    "income", "job_seek", "depress2", "work1", "comply", "control", "job_dich", "job_disc",
]  # fmt: skip
INT_COLUMNS = ["treat", "sex", "comply", "job_dich", "job_disc"]
FLOAT_COLUMNS = ["econ_hard", "depress1", "age", "job_seek", "depress2"]

# R levels in R's order (first = reference level) with their counts (spec §4.1).
LEVEL_COUNTS = {
    "occp": {
        "professionals": 175,
        "manegerial": 168,
        "clerical/kindred": 217,
        "sales workers": 65,
        "craftsmen/foremen/kindred": 97,
        "operatives/kindred wrks": 93,
        "laborers/service wrks": 84,
    },
    "marital": {"nevmarr": 279, "married": 408, "separtd": 30, "divrcd": 163, "widowed": 19},
    "nonwhite": {"white0": 747, "non.white1": 152},
    "educ": {"lt-hs": 50, "highsc": 272, "somcol": 319, "bach": 146, "gradwk": 112},
    "income": {"lt15k": 164, "15t24k": 206, "25t39k": 218, "40t49k": 110, "50k+": 201},
    "work1": {"psyump": 606, "psyemp": 293},
    "control": {"treat": 600, "control": 299},
}
CATEGORICAL_COLUMNS = list(LEVEL_COUNTS)

# Column means of R's data(jobs), rounded to 6 decimals (spec §4.1).
MEANS = {
    "treat": 0.667408,
    "econ_hard": 3.024138,
    "depress1": 1.870033,
    "sex": 0.536151,
    "age": 37.565063,
    "job_seek": 4.043344,
    "depress2": 1.741402,
    "comply": 0.413793,
    "job_dich": 0.617353,
    "job_disc": 3.125695,
}


@pytest.fixture(scope="module")
def jobs() -> pd.DataFrame:
    return load_jobs()


def test_exported_from_package_root():
    assert mediationhte.load_jobs is datasets.load_jobs
    assert "load_jobs" in mediationhte.__all__


def test_shape_and_column_order(jobs):
    assert jobs.shape == (899, 17)
    assert list(jobs.columns) == COLUMNS
    assert isinstance(jobs.index, pd.RangeIndex)
    assert (jobs.index.start, jobs.index.stop, jobs.index.step) == (0, 899, 1)


def test_dtypes(jobs):
    for col in INT_COLUMNS:
        assert jobs[col].dtype == np.dtype("int64"), col
    for col in FLOAT_COLUMNS:
        assert jobs[col].dtype == np.dtype("float64"), col
    for col in CATEGORICAL_COLUMNS:
        assert isinstance(jobs[col].dtype, pd.CategoricalDtype), col
        assert jobs[col].cat.ordered is False, col
    assert sorted(INT_COLUMNS + FLOAT_COLUMNS + CATEGORICAL_COLUMNS) == sorted(COLUMNS)


@pytest.mark.parametrize("col", CATEGORICAL_COLUMNS)
def test_categorical_levels_in_r_order(jobs, col):
    assert list(jobs[col].cat.categories) == list(LEVEL_COUNTS[col])


@pytest.mark.parametrize("col", CATEGORICAL_COLUMNS)
def test_level_counts(jobs, col):
    counts = jobs[col].value_counts(sort=False)
    assert {str(k): int(v) for k, v in counts.items()} == LEVEL_COUNTS[col]


def test_reference_levels(jobs):
    assert jobs["occp"].cat.categories[0] == "professionals"
    assert jobs["nonwhite"].cat.categories[0] == "white0"
    assert jobs["control"].cat.categories[0] == "treat"


def test_no_missing_values(jobs):
    assert not jobs.isna().any().any()


def test_treatment_arms(jobs):
    assert int((jobs["treat"] == 1).sum()) == 600
    assert int((jobs["treat"] == 0).sum()) == 299
    assert set(jobs["treat"].unique()) == {0, 1}
    # `control` is the complement of `treat`
    assert ((jobs["treat"] == 1) == (jobs["control"] == "treat")).all()


@pytest.mark.parametrize("col", list(MEANS))
def test_column_means(jobs, col):
    assert float(jobs[col].mean()) == pytest.approx(MEANS[col], abs=1e-6)


def test_shipped_file_sha256():
    raw = (resources.files("mediationhte.data") / "jobs.csv").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == JOBS_SHA256
    assert len(JOBS_SHA256) == 64


def test_readme_records_the_sha256():
    readme = (resources.files("mediationhte.data") / "README.md").read_text(encoding="utf-8")
    assert JOBS_SHA256 in readme


def test_each_call_returns_an_independent_copy():
    first = load_jobs()
    pristine = load_jobs()
    assert first is not pristine
    for col in INT_COLUMNS + FLOAT_COLUMNS:
        assert not np.shares_memory(first[col].to_numpy(), pristine[col].to_numpy()), col

    first.loc[0, "age"] = -1.0
    first.loc[0, "treat"] = 7
    first["occp"] = first["occp"].cat.rename_categories(lambda s: s.upper())
    first["job_seek"] *= 0
    del first["depress2"]

    second = load_jobs()
    pd.testing.assert_frame_equal(second, pristine, check_exact=True)
    assert second.loc[0, "age"] != -1.0
    assert list(second["occp"].cat.categories) == list(LEVEL_COUNTS["occp"])


def test_docstring_examples_pass():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(datasets.load_jobs, "load_jobs", globs={}) if t.examples]
    assert tests, "load_jobs has no doctest examples"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0


def test_checksum_mismatch_raises(monkeypatch):
    monkeypatch.setattr(datasets, "JOBS_SHA256", "0" * 64)
    with pytest.raises(BundledDataError, match=r"'jobs\.csv'.*SHA-256.*expected 0{64}") as exc:
        load_jobs()
    assert isinstance(exc.value, DataError)
    assert isinstance(exc.value, ValueError)


def test_missing_file_raises(monkeypatch):
    # The package `mediationhte` itself has no jobs.csv: simulates a broken installation.
    monkeypatch.setattr(datasets, "_DATA_PACKAGE", "mediationhte")
    with pytest.raises(BundledDataError, match=r"'jobs\.csv' was not found") as exc:
        load_jobs()
    assert isinstance(exc.value, DataError)
    assert isinstance(exc.value.__cause__, FileNotFoundError)


def test_missing_data_package_raises(monkeypatch):
    monkeypatch.setattr(datasets, "_DATA_PACKAGE", "mediationhte._no_such_data_package")
    with pytest.raises(BundledDataError, match=r"was not found in the package"):
        load_jobs()


_COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", "node_modules",
)  # fmt: skip


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    if proc.returncode != 0:
        pytest.fail(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


def test_load_jobs_after_regular_install(tmp_path):
    """Build a wheel, install it (non-editable) and load the data from an unrelated directory.

    The source tree is copied first so that setuptools' in-tree ``build/`` and ``*.egg-info``
    neither litter the checkout nor leak stale files into the wheel. Everything runs offline:
    ``--no-build-isolation`` uses this environment's setuptools and wheel (the ``test`` extra).
    """
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT, src, ignore=_COPY_IGNORE)
    wheel_dir = tmp_path / "wheels"
    site = tmp_path / "site"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}

    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(wheel_dir), str(src)],
        env=env,
    )  # fmt: skip
    wheels = sorted(wheel_dir.glob("mediationhte-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = set(zf.namelist())
    assert "mediationhte/data/jobs.csv" in names
    assert "mediationhte/py.typed" in names   # PEP 561: type checkers use the annotations
    assert "mediationhte/data/__init__.py" in names
    # every module of every subpackage ships (setup.cfg finds the packages; none is listed by hand)
    modules = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "mediationhte").rglob("*.py")}
    assert modules - names == set()

    _run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
         str(wheels[0])],
        env=env,
    )  # fmt: skip

    code = (
        "import mediationhte\n"
        "from mediationhte import load_jobs\n"
        "jobs = load_jobs()\n"
        "print(mediationhte.__file__)\n"
        "print(jobs.shape)\n"
    )
    run_env = {**env, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    proc = _run([sys.executable, "-c", code], cwd=workdir, env=run_env)
    module_file, shape = proc.stdout.strip().splitlines()[-2:]
    assert shape == "(899, 17)"
    assert Path(module_file).resolve().is_relative_to(site.resolve()), module_file
