"""Spec check 5 of dynamic mediation (dynamic_mediation.md section 5.4), slow.

Runs ``benchmarks/bench_dynamic.py --bias`` reduced to N = 100 and 500 (T = 25, R = 20; a few minutes on 2 cores) in
a fresh interpreter and fails on any MISS: MR |bias| of DDE and DME within 3 Monte Carlo SEs at N = 500, MR RMSE
shrinking with N for every component, MR RMSE no worse than 1.1 x DM's at N = 500, and IDE + IME + DDE + DME = ATE
to 1e-10 in every fit. The truth is ``semi_synthetic_truth()`` (Monte Carlo, its SE added to the bias margin). The
full study (N = 100, 500, 1500) is the script's default run.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dynamic.py"


@pytest.mark.slow
def test_semi_synthetic_bias_study_passes():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--bias", "--sizes", "100", "500", "--reps", "20"],
                          capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "MISS" not in out, out
    assert out.count("PASS") == 13, out


@pytest.mark.slow
def test_semi_synthetic_interval_coverage_reduced():
    # The coverage study of issue 17 (bench_dynamic.py --coverage: R = 100 at N = 200 and 500) reduced to R = 40 at
    # N = 200 (about 2 min on 2 cores). With 40 replicates a coverage has an MC SE of about 0.035, so the bounds
    # here are the full study's targets, the coverage widened by about 1.5 MC SEs: coverage >= 0.87 and |bias| <=
    # SE / 2 per component (in-sample nuisances, the reference's way, gave IDE coverage 0.60 with bias 1.55 SE at
    # this size; measured with the default (linear fit plus early-stopped boosting), `bench_dynamic.py --coverage
    # --reps 40 --sizes 200`: coverage 0.95 / 0.975 / 0.875 / 0.95, |bias| / SE 0.05 / 0.12 / 0.32 / 0.02. The fits
    # are deterministic, so the margins to 0.87 and 0.5 are fixed; the 200-replicate table has DDE 0.93 and 0.24 SE
    # at this size).
    spec = importlib.util.spec_from_file_location("bench_dynamic", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table, _ = bench.coverage_study([200], 40, 25, 2, out=None)
    for _, row in table.iterrows():
        assert row.coverage >= 0.87, row
        assert row.bias_over_se <= 0.5, row
