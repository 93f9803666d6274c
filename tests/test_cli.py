"""Tests for the command line ``python -m mediationhte`` (``mediationhte/__main__.py``).

Every test runs the module in a fresh interpreter (``sys.executable``) with ``cwd`` set to a
temporary folder, so it exercises the installed package exactly as a user's shell would.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

PROG = "python -m mediationhte"
ERROR_PREFIX = f"{PROG}: error:"
SMALL_OUTCOME = "y ~ t + m + x"
SMALL_MEDIATOR = "m ~ t + x"


def run_cli(args, cwd) -> subprocess.CompletedProcess:
    """Run ``python -m mediationhte ARGS`` and capture text output."""
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "mediationhte", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """Write a 60-row toy data set (t binary, m and y Gaussian); return its path and OLS ACME a*b."""
    rng = np.random.default_rng(20240607)
    n = 60
    x = rng.normal(size=n)
    t = rng.permutation(np.repeat([0, 1], n // 2))
    m = 0.6 * t + 0.3 * x + rng.normal(size=n)
    y = 0.5 * m + 0.2 * t - 0.1 * x + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "t": t, "m": m, "x": x})
    path = tmp_path_factory.mktemp("cli") / "small.csv"
    frame.to_csv(path, index=False)
    ones = np.ones(n)
    a = np.linalg.lstsq(np.column_stack([ones, t, x]), m, rcond=None)[0][1]
    b = np.linalg.lstsq(np.column_stack([ones, t, m, x]), y, rcond=None)[0][2]
    return path, a * b


def small_args(path, *extra):
    return ["--data", str(path), "--outcome", SMALL_OUTCOME, "--mediator", SMALL_MEDIATOR, "--sims", "200", *extra]


def test_default_runs_jobs_example(tmp_path):
    proc = run_cli([], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "Causal Mediation Analysis" in out
    assert "Quasi-Bayesian Confidence Intervals" in out
    assert "Nonparametric Bootstrap Confidence Intervals with the Percentile Method" in out
    assert re.search(r"^ACME\s+-0\.0137335\s", out, flags=re.MULTILINE), out
    assert "Sample Size Used: 899" in out
    assert out.count("Simulations: 1000") == 2  # 1000 draws and 1000 resamples
    # The M-learner subgroup table follows with the heterogeneity test of the indirect effect (the default).
    sub = out[out.index("Calibrated subgroups (M-learner)"):]
    assert "proxy and subgroups learned on 450 units, tested on the other 449" in sub
    assert re.search(r"^Heterogeneity test \(BLP, null of one common effect\): \d\.\d{3} \((<|>=) alpha = 0\.05\): "
                     r"heterogeneity", sub, flags=re.MULTILINE)
    assert "Effect searched (held-out)" in sub and "ACME (average)" in sub


def test_jobs_with_smaller_bootstrap(tmp_path):
    proc = run_cli(["--boot", "200", "--boot-method", "bca", "--subgroups", "none"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert re.search(r"^ACME\s+-0\.0137335\s", out, flags=re.MULTILINE), out
    assert "Nonparametric Bootstrap Confidence Intervals with the BCa Method" in out
    assert "Simulations: 200" in out
    assert "Sample Size Used: 899" in out


def test_jobs_without_bootstrap_markdown(tmp_path):
    proc = run_cli(["--boot", "0", "--format", "markdown"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Nonparametric" not in proc.stdout
    assert re.search(r"^\| ACME\s+\|\s+-0\.0137335 \|", proc.stdout, flags=re.MULTILINE), proc.stdout
    assert "## Calibrated subgroups (M-learner)" in proc.stdout
    assert re.search(r"^\|\s+K \|\s+Subgroups \|", proc.stdout, flags=re.MULTILINE), proc.stdout


def test_data_text(small_csv, tmp_path):
    path, acme = small_csv
    proc = run_cli(small_args(path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "Causal Mediation Analysis" in out
    assert "Sample Size Used: 60" in out
    assert "Simulations: 200" in out
    assert "Nonparametric" not in out  # no bootstrap unless --boot is given
    assert re.search(rf"^ACME\s+{acme:.6f}", out, flags=re.MULTILINE), (acme, out)


def test_data_csv(small_csv, tmp_path):
    path, acme = small_csv
    proc = run_cli(small_args(path, "--format", "csv"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(io.StringIO(proc.stdout), index_col=0)
    assert {"estimate", "ci_lower", "ci_upper", "p_value"} <= set(frame.columns)
    assert "acme_average" in frame.index
    assert frame.loc["acme_average", "estimate"] == pytest.approx(acme, rel=1e-9)
    assert frame.loc["acme_average", "ci_lower"] < acme < frame.loc["acme_average", "ci_upper"]


def test_data_latex(small_csv, tmp_path):
    path, _ = small_csv
    proc = run_cli(small_args(path, "--format", "latex"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert r"\begin{tabular}" in out and r"\end{tabular}" in out
    assert r"95\% CI Lower" in out
    assert "Causal Mediation Analysis" in out


def test_data_html(small_csv, tmp_path):
    path, _ = small_csv
    proc = run_cli(small_args(path, "--format", "html", "--boot", "50"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("<table") >= 2  # quasi-Bayesian and bootstrap blocks
    assert "Causal Mediation Analysis" in out
    assert "Percentile Method" in out
    assert "<td>ACME" in out


def test_data_markdown(small_csv, tmp_path):
    path, _ = small_csv
    proc = run_cli(small_args(path, "--format", "markdown"), tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"^\| ACME\s+\|", out, flags=re.MULTILINE), out
    assert "|:---" in out


@pytest.mark.parametrize(
    "case",
    ["unknown option", "data without formulas", "formulas without data", "missing file", "missing column",
     "bad format", "bad sims", "threshold without p*"],
)
def test_bad_arguments_one_line_exit_2(case, small_csv, tmp_path):
    path, _ = small_csv
    args, expected = {
        "unknown option": (["--bogus"], "unrecognized arguments: --bogus"),
        "data without formulas": (["--data", str(path)], "--data needs both --outcome and --mediator"),
        "formulas without data": (["--outcome", SMALL_OUTCOME, "--mediator", SMALL_MEDIATOR], "need --data"),
        "missing file": (["--data", str(tmp_path / "no_such_file.csv"), "--outcome", SMALL_OUTCOME,
                          "--mediator", SMALL_MEDIATOR], "cannot read --data"),
        "missing column": (["--data", str(path), "--outcome", "y ~ t + m + z", "--mediator", SMALL_MEDIATOR],
                           "Column 'z' (in outcome_formula) is not in data"),
        "bad format": (["--format", "pdf"], "invalid choice: 'pdf'"),
        "bad sims": (["--sims", "1"], "sims"),
        "threshold without p*": (small_args(path, "--subgroups", "threshold"), "Parameter p_threshold is required"),
    }[case]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    assert expected in lines[0], lines[0]


def test_help_exits_0(tmp_path):
    proc = run_cli(["--help"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"usage: {PROG}")
    for option in ("--data", "--outcome", "--mediator", "--boot", "--format", "--seed"):
        assert option in proc.stdout
