"""Spec check 5 of dynamic mediation (dynamic_mediation.md section 5.4), slow.

Runs ``benchmarks/bench_dynamic.py --bias`` reduced to N = 100 and 500 (T = 25, R = 20; a few minutes on 2 cores) in
a fresh interpreter and fails on any MISS: MR |bias| of DDE and DME within 3 Monte Carlo SEs at N = 500, MR RMSE
shrinking with N for every component, MR RMSE no worse than 1.1 x DM's at N = 500, and IDE + IME + DDE + DME = ATE
to 1e-10 in every fit. The truth is ``semi_synthetic_truth()`` (Monte Carlo, its SE added to the bias margin). The
full study (N = 100, 500, 1500) is the script's default run.
"""

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
