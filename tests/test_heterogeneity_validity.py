"""A reduced rerun of the heterogeneity test's validity table (slow; ``python -m pytest -m slow``).

``benchmarks/bench_mlearner_calibration.py`` at its defaults is the full table (ten designs, two noise levels,
R = 100; results in ``benchmarks/results/mlearner_calibration.md``). This test reruns its replicate function on
three designs at noise 0.5 (R = 40 each, about 7 minutes on 2 cores): the truth comes from the designs themselves
(``simulate()``; checked against potential outcomes in tests/test_simulation.py): Global and Direct-only have the
same indirect effect for everyone (H0 true; the first a non-zero constant, the second with a heterogeneous
*direct* effect), Simple-All has a heterogeneous one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from joblib import Parallel, delayed
from scipy import stats

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mlearner_calibration.py"
REPS, ALPHA = 40, 0.05


def _bench():
    spec = importlib.util.spec_from_file_location("bench_mlearner_calibration", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_reduced_validity_table():
    bench = _bench()
    cfg = dict(n=1000, mode="blp", n_permutations=200, alpha=ALPHA)
    rows = Parallel(n_jobs=2)(delayed(bench._replicate)(design, 0.5, seed, cfg)
                              for design in ("global", "direct_only", "simple_all") for seed in range(1, REPS + 1))
    assert not any(r["error"] for r in rows)
    bound = ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / REPS)
    for design in ("global", "direct_only"):
        p = np.array([r["p_value"] for r in rows if r["design"] == design])
        assert np.mean(p < ALPHA) <= bound, design               # the level, within 2 Monte Carlo SEs
        assert stats.kstest(p, "uniform").pvalue > 0.01, design  # p-values close to uniform, not bunched at 1
    p = np.array([r["p_value"] for r in rows if r["design"] == "simple_all"])
    assert np.mean(p < ALPHA) >= 0.8                             # power where the indirect effect varies
