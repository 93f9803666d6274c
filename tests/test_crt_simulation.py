"""Tests of mediationhte.datasets.crt: the CRT DGP family of spec crt.md §4.2 and its truths.

References used below:
* the structural equations of spec §4.2 (mu, tau_A, tau_B, tau_N; half the clusters treated;
  n_j ~ Uniform{lo..hi}; sigma_b^2 = icc / (1 - icc) sigma^2), re-typed here independently of
  the module, for the exact (1e-12) checks;
* the scenario default ICCs of spec §9 (A 0.5, B 0.2, N 0.3) and the sigma_b^2 values of §4.2
  (ICC 0.5 -> 1.0, 0.3 -> 0.43, 0.2 -> 0.25);
* normal-theory Monte Carlo standard errors for the distributional checks: SE(mean) = s / sqrt(n),
  SE(sample variance) = sigma^2 sqrt(2 / (n - 1)), SE(sample SD) ~ sigma / sqrt(2 (n - 1));
  for a Bernoulli(1/2) mean SE = 0.5 / sqrt(n); for U(-1, 1) Var = 1/3;
* the closed forms Var(tau_A) = 0.25 (1 + 1/4 + 1/4) = 0.375, Var(tau_B) = 0.625 (derived in the
  module's Notes), checked against the spec's quoted 0.61 / 0.79 and against a 400,000-point
  Monte Carlo draw within 1%.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

import mediationhte.datasets.crt as crt_simulation
from mediationhte.datasets.crt import DEFAULT_ICC, crt_test_grid, simulate_crt, true_tau_sd
from mediationhte.errors import ParameterError

COLUMNS = ["cluster", "treat", "x1", "x2", "x3", "x4", "x5", "v1", "v2", "y", "tau", "mu0", "b"]
INT_COLUMNS = ["cluster", "treat", "x2", "v2"]
SCENARIOS = ["A", "B", "N"]


def tau_formula(scenario, d):
    """Spec §4.2 effect functions, typed independently of the module."""
    tau_a = 1 + 0.5 * d["x1"].to_numpy() - 0.5 * d["x2"].to_numpy() + 0.5 * (d["x3"].to_numpy() > 0)
    if scenario == "A":
        return tau_a
    if scenario == "B":
        return tau_a + 0.5 * d["v1"].to_numpy()
    return np.ones(len(d))


def mu_formula(d):
    """Spec §4.2 prognostic function."""
    return (1 + d["x1"] + 0.5 * d["x2"] + np.sin(np.pi * d["x3"]) + 0.5 * d["v1"] + 0.5 * d["v2"]).to_numpy()


@pytest.fixture(scope="module")
def big():
    """A large trial (2000 clusters, about 60,000 rows) for the Monte Carlo checks, noise_sd 2."""
    return simulate_crt("B", n_clusters=2000, icc=0.3, cluster_size=(20, 40), noise_sd=2.0, random_state=7)


# ------------------------------------------------------------------------------------------
# structure
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_structure(scenario):
    d = simulate_crt(scenario, n_clusters=40, cluster_size=(20, 40), random_state=3)
    assert list(d.columns) == COLUMNS
    for col in COLUMNS:
        expected = np.int64 if col in INT_COLUMNS else np.float64
        assert d[col].dtype == expected, col
    # clusters 0..m-1, rows sorted by cluster, sizes in the inclusive range
    sizes = d.groupby("cluster").size()
    assert list(sizes.index) == list(range(40))
    assert bool(d["cluster"].is_monotonic_increasing)
    assert sizes.min() >= 20 and sizes.max() <= 40
    assert len(d) == sizes.sum()
    # exactly half treated, treatment and cluster-level columns constant within cluster
    per_cluster = d.groupby("cluster")
    assert (per_cluster[["treat", "v1", "v2", "b"]].nunique() == 1).all().all()
    assert int(per_cluster["treat"].first().sum()) == 20
    assert set(d["treat"].unique()) <= {0, 1}
    assert set(d["x2"].unique()) <= {0, 1} and set(d["v2"].unique()) <= {0, 1}
    assert d["x3"].between(-1, 1).all()
    assert d.attrs["scenario"] == scenario
    assert d.attrs["icc"] == DEFAULT_ICC[scenario]
    assert d.attrs["seed_used"] == 3


def test_cluster_sizes_uniform_inclusive():
    # both end points are reached and nothing outside; each of the 3 values has probability 1/3
    d = simulate_crt(n_clusters=3000, cluster_size=(2, 4), random_state=11)
    sizes = d.groupby("cluster").size()
    counts = sizes.value_counts().sort_index()
    assert list(counts.index) == [2, 3, 4]
    se = math.sqrt(3000 * (1 / 3) * (2 / 3))
    assert (np.abs(counts.to_numpy() - 1000) < 4 * se).all()


def test_equal_sizes_and_scenario_case():
    d = simulate_crt("b", n_clusters=4, cluster_size=(5, 5), random_state=0)
    assert (d.groupby("cluster").size() == 5).all() and len(d) == 20
    assert d.attrs["scenario"] == "B"


def test_default_icc_and_variance_components():
    # spec §9 defaults and §4.2 sigma_b^2 = icc / (1 - icc) sigma^2
    for scenario, icc in {"A": 0.5, "B": 0.2, "N": 0.3}.items():
        attrs = simulate_crt(scenario, n_clusters=4, cluster_size=(2, 3), random_state=0).attrs
        assert attrs["icc"] == icc
        assert attrs["sigma2"] == 1.0
        assert attrs["sigma_b2"] == pytest.approx(icc / (1 - icc), rel=1e-12)
    assert simulate_crt("A", n_clusters=4, random_state=0).attrs["sigma_b2"] == pytest.approx(1.0)
    assert simulate_crt("N", n_clusters=4, random_state=0).attrs["sigma_b2"] == pytest.approx(0.43, abs=0.005)
    assert simulate_crt("B", n_clusters=4, random_state=0).attrs["sigma_b2"] == pytest.approx(0.25)
    attrs = simulate_crt("A", n_clusters=4, icc=0.2, noise_sd=3.0, random_state=0).attrs
    assert attrs["sigma2"] == pytest.approx(9.0) and attrs["sigma_b2"] == pytest.approx(0.25 * 9.0)
    assert attrs["noise_sd"] == 3.0 and attrs["n_clusters"] == 4 and attrs["cluster_size"] == (20, 40)


def test_icc_zero_gives_no_cluster_effect():
    d = simulate_crt("A", n_clusters=6, icc=0.0, random_state=5)
    assert (d["b"] == 0).all() and d.attrs["sigma_b2"] == 0.0


# ------------------------------------------------------------------------------------------
# reproducibility
# ------------------------------------------------------------------------------------------
def test_reproducible():
    a = simulate_crt("B", n_clusters=10, random_state=42)
    b = simulate_crt("B", n_clusters=10, random_state=42)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = simulate_crt("B", n_clusters=10, random_state=43)
    assert len(a) != len(c) or not np.array_equal(a["y"].to_numpy(), c["y"].to_numpy())
    # a Generator is consumed and recorded as such; the same-seeded Generator gives the same frame
    g = simulate_crt("B", n_clusters=10, random_state=np.random.default_rng(42))
    pd.testing.assert_frame_equal(a, g, check_exact=True)
    assert g.attrs["seed_used"] == "Generator"


def test_unseeded_run_records_a_reproducing_seed():
    a = simulate_crt("A", n_clusters=4, cluster_size=(3, 6))
    assert isinstance(a.attrs["seed_used"], int)
    b = simulate_crt("A", n_clusters=4, cluster_size=(3, 6), random_state=a.attrs["seed_used"])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_grid_reproducible_and_default_seed_99():
    g1, g2 = crt_test_grid("A"), crt_test_grid("A", n=2000, random_state=99)
    pd.testing.assert_frame_equal(g1, g2, check_exact=True)
    assert g1.attrs["seed_used"] == 99 and len(g1) == 2000
    assert not np.array_equal(g1["x1"], crt_test_grid("A", random_state=100)["x1"])


# ------------------------------------------------------------------------------------------
# truths
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tau_and_mu_match_formula(scenario):
    d = simulate_crt(scenario, n_clusters=20, random_state=8)
    np.testing.assert_allclose(d["tau"].to_numpy(), tau_formula(scenario, d), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d["mu0"].to_numpy(), mu_formula(d), rtol=0, atol=1e-12)


def test_residual_is_the_noise(big):
    eps = (big["y"] - big["mu0"] - big["treat"] * big["tau"] - big["b"]).to_numpy()
    n, sigma = len(eps), 2.0
    assert n > 50_000
    assert abs(eps.mean()) < 4 * sigma / math.sqrt(n)
    assert abs(eps.std(ddof=1) - sigma) < 4 * sigma / math.sqrt(2 * (n - 1))


def test_icc_random_intercept_variance(big):
    # one b per cluster; sigma_b^2 = 0.3 / 0.7 * 4
    b = big.groupby("cluster")["b"].first().to_numpy()
    m, sigma_b2 = len(b), 0.3 / 0.7 * 4.0
    assert m == 2000 and big.attrs["sigma_b2"] == pytest.approx(sigma_b2)
    assert abs(b.var(ddof=1) - sigma_b2) < 4 * sigma_b2 * math.sqrt(2 / (m - 1))
    assert abs(b.mean()) < 4 * math.sqrt(sigma_b2 / m)


def test_icc_other_level():
    # spec scenario-A ICC 0.5 with sigma = 1: sigma_b^2 = 1
    d = simulate_crt("A", n_clusters=2000, cluster_size=(1, 2), random_state=21)
    b = d.groupby("cluster")["b"].first().to_numpy()
    assert abs(b.var(ddof=1) - 1.0) < 4 * math.sqrt(2 / (len(b) - 1))


def test_covariate_distributions(big):
    n = len(big)
    checks = {"x1": (0.0, 1.0), "x3": (0.0, 1 / 3), "x4": (0.0, 1.0), "x5": (0.0, 1.0)}
    for col, (mean, var) in checks.items():
        assert abs(big[col].mean() - mean) < 4 * math.sqrt(var / n), col
    assert abs(big["x2"].mean() - 0.5) < 4 * 0.5 / math.sqrt(n)
    cl = big.groupby("cluster")[["v1", "v2"]].first()
    m = len(cl)
    assert abs(cl["v1"].mean()) < 4 / math.sqrt(m)
    assert abs(cl["v1"].var(ddof=1) - 1) < 4 * math.sqrt(2 / (m - 1))
    assert abs(cl["v2"].mean() - 0.5) < 4 * 0.5 / math.sqrt(m)
    # treatment is independent of the cluster covariates by design: exactly m/2 treated
    assert int(big.groupby("cluster")["treat"].first().sum()) == m // 2


# ------------------------------------------------------------------------------------------
# true_tau_sd and the grid
# ------------------------------------------------------------------------------------------
def test_true_tau_sd_closed_forms():
    assert true_tau_sd("A") == pytest.approx(math.sqrt(0.375), rel=1e-15)
    assert true_tau_sd("B") == pytest.approx(math.sqrt(0.625), rel=1e-15)
    assert true_tau_sd("n") == 0.0
    # the spec's rounded values (§4.2)
    assert round(true_tau_sd("A"), 2) == 0.61 and round(true_tau_sd("B"), 2) == 0.79


@pytest.mark.parametrize("scenario", ["A", "B"])
def test_true_tau_sd_monte_carlo(scenario):
    g = crt_test_grid(scenario, n=400_000, random_state=2024)
    assert g["tau"].std(ddof=1) == pytest.approx(true_tau_sd(scenario), rel=0.01)
    assert abs(g["tau"].mean() - 1.0) < 4 * true_tau_sd(scenario) / math.sqrt(len(g))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_grid(scenario):
    g = crt_test_grid(scenario, n=3000, random_state=99)
    assert list(g.columns) == ["x1", "x2", "x3", "x4", "x5", "v1", "v2", "tau", "mu0"]
    assert g["x2"].dtype == np.int64 and g["v2"].dtype == np.int64 and g["tau"].dtype == np.float64
    np.testing.assert_allclose(g["tau"].to_numpy(), tau_formula(scenario, g), rtol=0, atol=1e-12)
    np.testing.assert_allclose(g["mu0"].to_numpy(), mu_formula(g), rtol=0, atol=1e-12)
    assert g.attrs == {"scenario": scenario, "n": 3000, "seed_used": 99}
    # v is drawn per row (fresh (x, v) draws), not shared
    assert g["v1"].nunique() == len(g)
    # covariates do not depend on the scenario
    pd.testing.assert_frame_equal(g.iloc[:, :7], crt_test_grid("A", n=3000).iloc[:, :7])


def test_grid_distributions():
    # normal-theory SE of the sample variance; for U(-1, 1) the true SE is smaller (mu4 = 1/5 < 3 sigma^4)
    g = crt_test_grid("B", n=200_000, random_state=5)
    n = len(g)
    for col, var in {"x1": 1.0, "x3": 1 / 3, "x4": 1.0, "x5": 1.0, "v1": 1.0}.items():
        assert abs(g[col].mean()) < 4 * math.sqrt(var / n), col
        assert abs(g[col].var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 1)), col
    for col in ["x2", "v2"]:
        assert abs(g[col].mean() - 0.5) < 4 * 0.5 / math.sqrt(n), col


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"scenario": "C"}, "scenario"),
        ({"scenario": 1}, "scenario"),
        ({"n_clusters": 2}, "n_clusters"),
        ({"n_clusters": 41}, "n_clusters"),
        ({"n_clusters": 40.0}, "n_clusters"),
        ({"n_clusters": True}, "n_clusters"),
        ({"icc": 1.0}, "icc"),
        ({"icc": -0.1}, "icc"),
        ({"icc": float("nan")}, "icc"),
        ({"icc": "0.5"}, "icc"),
        ({"cluster_size": (0, 5)}, "cluster_size"),
        ({"cluster_size": (10, 5)}, "cluster_size"),
        ({"cluster_size": (5,)}, "cluster_size"),
        ({"cluster_size": 20}, "cluster_size"),
        ({"cluster_size": (2.0, 5)}, "cluster_size"),
        ({"noise_sd": 0}, "noise_sd"),
        ({"noise_sd": -1.0}, "noise_sd"),
        ({"noise_sd": float("inf")}, "noise_sd"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": np.random.RandomState(0)}, "random_state"),
    ],
)
def test_simulate_validation(kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        simulate_crt(**kwargs)
    assert info.value.parameter == parameter
    assert parameter in str(info.value)


def test_simulate_accepts_numpy_ints():
    d = simulate_crt(n_clusters=np.int64(4), cluster_size=(np.int32(2), np.int64(3)), icc=np.float64(0.1),
                     random_state=0)
    assert d["cluster"].nunique() == 4


@pytest.mark.parametrize(
    "func, kwargs, parameter",
    [
        (crt_test_grid, {"scenario": "X"}, "scenario"),
        (crt_test_grid, {"n": 0}, "n"),
        (crt_test_grid, {"n": 10.5}, "n"),
        (crt_test_grid, {"random_state": "seed"}, "random_state"),
        (true_tau_sd, {"scenario": None}, "scenario"),
    ],
)
def test_other_validation(func, kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        func(**kwargs)
    assert info.value.parameter == parameter


def test_doctests():
    result = doctest.testmod(crt_simulation, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
