"""Tests of mediationhte.datasets.mediation: the M-learner DGPs and their true unit-level effects.

References used below:
* algebra on the structural equations (spec mlearner.md §6b/§6c), for the linear scenarios;
* spec §6d analytic values (P(S) = 1/4, E[x1 + x2 | S] = 2 sqrt(2/pi), Complex-All/-Part and
  no-mediator Complex means in S), and the same means recomputed here by independent numerical
  integration (scipy dblquad over (x1, x2) in S, trapezoid rule over the remaining normal term);
* brute-force Monte Carlo over the two error terms, for the quadrature truths at large noise.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import expit

import mediationhte.datasets.mediation as simulation
from mediationhte import ParameterError, simulate
from mediationhte.datasets.mediation import SCENARIOS, scenario_kind

MEDIATOR_SCENARIOS = ["simple_all", "simple_part", "complex_all", "complex_part", "simple_null1", "simple_null2",
                      "global", "global_nonlinear", "direct_only", "outcome_path"]
TOTAL_SCENARIOS = ["total_simple", "total_complex", "total_global", "total_null"]
X_COLUMNS = [f"x{j}" for j in range(1, 11)]
EFFECTS = ["cie", "cde", "te", "cie_control", "cde_treated"]
BIG_N = 200_000


@pytest.fixture(scope="module")
def big():
    """One large data set per scenario that the MC-mean tests need (about 0.6 s in all)."""
    return {s: simulate(s, n=BIG_N, random_state=2024)
            for s in ["simple_all", "complex_all", "complex_part", "total_complex"]}


def _h(d: pd.DataFrame) -> np.ndarray:
    return (d["subgroup"] * (d["x1"] + d["x2"])).to_numpy()


# --------------------------------------------------------------------------------------------
# names, shapes, columns, treatment assignment


def test_scenario_names_and_kinds():
    assert list(SCENARIOS) == MEDIATOR_SCENARIOS + TOTAL_SCENARIOS
    assert all(isinstance(v, str) and "\n" not in v for v in SCENARIOS.values())
    assert [scenario_kind(s) for s in MEDIATOR_SCENARIOS] == ["mediator"] * 10
    assert [scenario_kind(s.upper()) for s in TOTAL_SCENARIOS] == ["total"] * 4


@pytest.mark.parametrize("scenario", MEDIATOR_SCENARIOS + TOTAL_SCENARIOS)
def test_columns_dtypes_and_attrs(scenario):
    d = simulate(scenario, n=101, random_state=5)
    effects = EFFECTS if scenario in MEDIATOR_SCENARIOS else ["te"]
    middle = ["treat", "m", "y"] if scenario in MEDIATOR_SCENARIOS else ["treat", "y"]
    assert list(d.columns) == X_COLUMNS + middle + effects + ["subgroup"]
    assert d.shape == (101, 10 + len(middle) + len(effects) + 1)
    assert d["treat"].dtype == np.int64 and d["subgroup"].dtype == np.int64
    assert all(d[c].dtype == np.float64 for c in X_COLUMNS + middle[1:] + effects)
    assert set(np.unique(d["treat"])) == {0, 1}
    assert np.all(np.isfinite(d.drop(columns=["treat", "subgroup"]).to_numpy()))
    assert d.attrs == {"scenario": scenario, "noise_sd": 0.01, "seed_used": 5}
    np.testing.assert_array_equal(d["subgroup"], ((d["x1"] > 0) & (d["x2"] > 0)).astype(int))


@pytest.mark.parametrize("n", [2, 3, 1000, 1001])
def test_exactly_half_treated(n):
    # complete randomisation as in the R scripts (sample of n/2 ones and n/2 zeros)
    for seed in range(5):
        d = simulate("simple_all", n=n, random_state=seed)
        assert int(d["treat"].sum()) == n // 2


def test_treatment_is_a_random_permutation():
    # different seeds give different assignments, and the treated share is n//2 in every one
    a = simulate("global", n=200, random_state=1)["treat"].to_numpy()
    b = simulate("global", n=200, random_state=2)["treat"].to_numpy()
    assert not np.array_equal(a, b)


def test_scenario_is_case_insensitive():
    d = simulate("Simple_ALL", n=10, random_state=0)
    assert d.attrs["scenario"] == "simple_all"
    pd.testing.assert_frame_equal(d, simulate("simple_all", n=10, random_state=0))


# --------------------------------------------------------------------------------------------
# reproducibility


def test_same_seed_same_data_other_seed_other_data():
    a = simulate("complex_part", n=300, random_state=11)
    b = simulate("complex_part", n=300, random_state=11)
    c = simulate("complex_part", n=300, random_state=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["x1"], c["x1"])
    assert not np.allclose(a["y"], c["y"])


def test_generator_and_none_seeds():
    a = simulate("simple_part", n=50, random_state=np.random.default_rng(3))
    b = simulate("simple_part", n=50, random_state=np.random.default_rng(3))
    assert a.attrs["seed_used"] == "Generator"
    pd.testing.assert_frame_equal(a, b)
    # an unseeded run records its entropy, which regenerates it
    c = simulate("simple_part", n=50)
    assert isinstance(c.attrs["seed_used"], int)
    pd.testing.assert_frame_equal(c, simulate("simple_part", n=50, random_state=c.attrs["seed_used"]))


def test_global_numpy_state_untouched():
    before = np.random.get_state()
    simulate("complex_all", n=100, random_state=1)
    simulate("total_null", n=100)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# --------------------------------------------------------------------------------------------
# true effects: identities and exact algebra


@pytest.mark.parametrize("noise_sd", [0.0, 0.01, 0.5])
@pytest.mark.parametrize("scenario", MEDIATOR_SCENARIOS)
def test_decomposition_identities(scenario, noise_sd):
    d = simulate(scenario, n=500, noise_sd=noise_sd, random_state=4)
    np.testing.assert_allclose(d["te"], d["cie"] + d["cde"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(d["te"], d["cie_control"] + d["cde_treated"], rtol=0, atol=1e-12)


def test_simple_all_truth():
    # CIE = h (a = h, beta = 1), CDE = 0 (no T in Y)
    d = simulate("simple_all", n=1000, random_state=1)
    h = _h(d)
    np.testing.assert_array_equal(d["cie"], h)
    np.testing.assert_array_equal(d["cie_control"], h)
    np.testing.assert_array_equal(d["cde"], 0.0)
    np.testing.assert_array_equal(d["cde_treated"], 0.0)
    assert (d.loc[d["subgroup"] == 0, "cie"] == 0).all() and (d.loc[d["subgroup"] == 1, "cie"] > 0).all()


def test_simple_part_truth():
    d = simulate("simple_part", n=1000, random_state=1)
    h = _h(d)
    for col in ["cie", "cde", "cie_control", "cde_treated"]:
        np.testing.assert_array_equal(d[col], h)
    np.testing.assert_array_equal(d["te"], 2 * h)


@pytest.mark.parametrize("scenario", ["simple_null1", "simple_null2"])
def test_null_truth(scenario):
    # no T in M: CIE = 0; T*h in Y: CDE = h
    d = simulate(scenario, n=1000, random_state=1)
    np.testing.assert_array_equal(d["cie"], 0.0)
    np.testing.assert_array_equal(d["cie_control"], 0.0)
    np.testing.assert_array_equal(d["cde"], _h(d))


def test_global_truth():
    d = simulate("global", n=1000, random_state=1)
    np.testing.assert_array_equal(d["cie"], 1.0)
    np.testing.assert_array_equal(d["cde"], 0.0)
    np.testing.assert_array_equal(d["te"], 1.0)


def test_validity_design_truths_from_potential_outcomes():
    # The three designs of the heterogeneity test's validity table, checked against potential outcomes written
    # out here from their structural equations (not the module's code): CIE = Y(1, M(1)) - Y(1, M(0)) and
    # CDE = Y(1, M(0)) - Y(0, M(0)) at noise 0, where the model is linear in m so the truth is exact.
    for scenario in ("global_nonlinear", "direct_only", "outcome_path"):
        d = simulate(scenario, n=1000, noise_sd=0.0, random_state=5)
        x1, x2, x3, x4, x5, x6 = (d[f"x{j}"].to_numpy() for j in range(1, 7))
        h = _h(d)
        b_m = x3 + x4 + 0.5 * x1 + 0.5 * x2
        if scenario == "global_nonlinear":
            b_m = b_m + np.sin(np.pi * x5) + x6**2 / 2

        def y_of(t, m):
            slope = 1 + h if scenario == "outcome_path" else 1.0
            extra = np.abs(x6) + np.cos(np.pi * x5) if scenario == "global_nonlinear" else 0.0
            return 1 + slope * m + 0.5 * x3 + 0.5 * x4 + extra + (t * h if scenario == "direct_only" else 0.0)

        m0, m1 = b_m, b_m + 1.0
        np.testing.assert_allclose(d["cie"], y_of(1, m1) - y_of(1, m0), rtol=0, atol=1e-12)
        np.testing.assert_allclose(d["cde"], y_of(1, m0) - y_of(0, m0), rtol=0, atol=1e-12)
    assert simulate("outcome_path", n=1000, random_state=1)["cie"].std() > 0.5       # heterogeneous CIE
    assert simulate("direct_only", n=1000, random_state=1)["cie"].std() == 0.0       # constant CIE


def test_total_linear_truths():
    np.testing.assert_array_equal(simulate("total_simple", n=500, random_state=1)["te"],
                                  _h(simulate("total_simple", n=500, random_state=1)))
    np.testing.assert_array_equal(simulate("total_global", n=500, random_state=1)["te"], 1.0)
    np.testing.assert_array_equal(simulate("total_null", n=500, random_state=1)["te"], 0.0)


def test_complex_truths_have_the_documented_signs():
    # decreasing sigmoid: effects are < 0 in S, exactly 0 outside S (h = 0 there)
    for scenario, cols in [("complex_all", ["cie"]), ("complex_part", ["cie", "cde", "te"]),
                           ("total_complex", ["te"])]:
        d = simulate(scenario, n=2000, random_state=8)
        in_s = d["subgroup"] == 1
        for col in cols:
            assert (d.loc[in_s, col] < 0).all() and (d.loc[~in_s, col] == 0).all()
    np.testing.assert_array_equal(simulate("complex_all", n=500, random_state=8)["cde"], 0.0)


# --------------------------------------------------------------------------------------------
# observed data follow the structural equations


def _structural(d: pd.DataFrame, scenario: str) -> tuple[np.ndarray | None, np.ndarray]:
    """Noise-free M and Y recomputed from the columns (spec §6b/§6c, R scripts)."""
    x1, x2, x3, x4, t = (d[c].to_numpy() for c in ["x1", "x2", "x3", "x4", "treat"])
    h = _h(d)
    b_m = x3 + x4 + 0.5 * x1 + 0.5 * x2
    if scenario in TOTAL_SCENARIOS:
        lin = {"total_simple": 1 + x3 + x4 + 0.5 * x1 + 0.5 * x2 + t * h,
               "total_complex": 1 + x3 + x4 + 0.5 * x1 + 0.5 * x2 + t * h,
               "total_global": 1 + t + x3 + x4,
               "total_null": 1 + x3 + x4 + 0.5 * x1 + 0.5 * x2}[scenario]
        return None, (expit(-lin) if scenario == "total_complex" else lin)
    x5, x6 = d["x5"].to_numpy(), d["x6"].to_numpy()
    b_nl = b_m + np.sin(np.pi * x5) + x6**2 / 2   # global_nonlinear's prognostic terms (written out here)
    m_mean = {"simple_null1": b_m, "simple_null2": b_m, "global": b_m + t, "direct_only": b_m + t,
              "outcome_path": b_m + t, "global_nonlinear": b_nl + t}.get(scenario, b_m + t * h)
    m = d["m"].to_numpy()  # Y uses the realised M
    base = 1 + 0.5 * x3 + 0.5 * x4
    lin = {"simple_all": base + m, "simple_part": base + m + t * h, "complex_all": base + m,
           "complex_part": base + m + t * h, "simple_null1": base + m + t * h,
           "simple_null2": base + 0 * m + t * h, "global": base + m, "direct_only": base + m + t * h,
           "outcome_path": base + (1 + h) * m,
           "global_nonlinear": base + m + np.abs(x6) + np.cos(np.pi * x5)}[scenario]
    return m_mean, (expit(-lin) if scenario.startswith("complex") else lin)


@pytest.mark.parametrize("scenario", MEDIATOR_SCENARIOS + TOTAL_SCENARIOS)
def test_noiseless_data_equal_structural_equations(scenario):
    d = simulate(scenario, n=400, noise_sd=0.0, random_state=3)
    m_mean, y_mean = _structural(d, scenario)
    if m_mean is not None:
        np.testing.assert_allclose(d["m"], m_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d["y"], y_mean, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scenario", ["simple_all", "simple_part", "simple_null1", "simple_null2", "global",
                                      "total_simple", "total_global", "total_null"])
def test_linear_residuals_are_the_noise(scenario):
    # y - structural(y) = e_Y ~ N(0, 0.01^2); m - structural(m) = e_M likewise
    n = 20_000
    d = simulate(scenario, n=n, random_state=6)
    m_mean, y_mean = _structural(d, scenario)
    residuals = [d["y"].to_numpy() - y_mean]
    if m_mean is not None:
        residuals.append(d["m"].to_numpy() - m_mean)
    for r in residuals:
        assert abs(r.mean()) < 4 * 0.01 / math.sqrt(n)
        # SD of a sample SD of normals is about sd / sqrt(2n)
        assert abs(r.std(ddof=1) - 0.01) < 4 * 0.01 / math.sqrt(2 * n)


def test_noise_sd_recorded_and_used():
    d = simulate("simple_all", n=5000, noise_sd=0.3, random_state=2)
    assert d.attrs["noise_sd"] == 0.3
    m_mean, _ = _structural(d, "simple_all")
    assert abs((d["m"] - m_mean).std() - 0.3) < 0.02


# --------------------------------------------------------------------------------------------
# Monte Carlo means against spec §6d


def _mean_and_se(values: pd.Series) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def test_share_of_subgroup(big):
    share = big["simple_all"]["subgroup"].mean()
    assert abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / BIG_N)


def test_simple_all_mean_cie_in_s(big):
    d = big["simple_all"]
    in_s = d.loc[d["subgroup"] == 1, "cie"]
    # spec §6d: E[x1 + x2 | S] = 2 sqrt(2/pi) = 1.596, SD 0.851 (analytic: sqrt(2 + 4/pi - 8/pi) = 0.8525)
    assert abs(in_s.std(ddof=1) - math.sqrt(2 - 4 / math.pi)) < 0.01
    se = 0.851 / math.sqrt(len(in_s))
    assert abs(in_s.mean() - 2 * math.sqrt(2 / math.pi)) < 4 * se
    # overall mean: 0.25 * 1.596 = 0.399 (spec: 0.398)
    mean, se_all = _mean_and_se(d["cie"])
    assert abs(mean - 0.5 * math.sqrt(2 / math.pi)) < 4 * se_all


def _analytic_mean_in_s(lin_treated, lin_control, var: float) -> float:
    """E[expit(-(A(s) + Z)) - expit(-(B(s) + Z)) | S], s = x1 + x2, Z ~ N(0, var).

    Independent of simulation.py: dblquad over x1, x2 > 0 (density 4 phi(x1) phi(x2)) and a
    fine trapezoid rule over Z.
    """
    sd = math.sqrt(var)
    z = np.linspace(-10 * sd, 10 * sd, 4001)
    pz = np.exp(-0.5 * (z / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    def integrand(x2, x1):
        s = x1 + x2
        diff = expit(-(lin_treated(s) + z)) - expit(-(lin_control(s) + z))
        return 4 * math.exp(-0.5 * (x1 * x1 + x2 * x2)) / (2 * math.pi) * np.trapezoid(diff * pz, z)

    return integrate.dblquad(integrand, 0, 12, 0, 12, epsabs=1e-10)[0]


# With a mediator: L = 1 + 1.5 (x3 + x4) + 0.5 s + t' h + t c + e_M + e_Y, and in S h = s.
# 1.5 (x3 + x4) + e_M + e_Y ~ N(0, 4.5 + 2 sd^2). Without a mediator: x3 + x4 + e_Y ~ N(0, 2 + sd^2).
_VAR_MED = 4.5 + 2 * 0.01**2
_VAR_TOT = 2.0 + 0.01**2


@pytest.mark.parametrize("scenario, column, spec_value, a, b, var", [
    # Complex-All, CIE in S: Y(1, M(1)) vs Y(1, M(0)); spec §6d -0.127
    ("complex_all", "cie", -0.127, lambda s: 1 + 1.5 * s, lambda s: 1 + 0.5 * s, _VAR_MED),
    # Complex-Part in S: CIE -0.059, CDE -0.127, TE -0.186 (spec §6d)
    ("complex_part", "cie", -0.059, lambda s: 1 + 2.5 * s, lambda s: 1 + 1.5 * s, _VAR_MED),
    ("complex_part", "cde", -0.127, lambda s: 1 + 1.5 * s, lambda s: 1 + 0.5 * s, _VAR_MED),
    ("complex_part", "te", -0.186, lambda s: 1 + 2.5 * s, lambda s: 1 + 0.5 * s, _VAR_MED),
    # no-mediator Complex, CATE in S: spec §6d -0.120
    ("total_complex", "te", -0.120, lambda s: 1 + 1.5 * s, lambda s: 1 + 0.5 * s, _VAR_TOT),
])
def test_complex_means_in_s(big, scenario, column, spec_value, a, b, var):
    d = big[scenario]
    mean, se = _mean_and_se(d.loc[d["subgroup"] == 1, column])
    tol = 0.003
    # the brief's tolerance is several MC SEs (SE is 0.0004-0.0009 here), and covers the
    # 3-decimal rounding of the spec values
    assert tol > 3 * se
    assert abs(mean - spec_value) < tol
    # tighter: against the independently integrated value, within 4 MC SE
    exact = _analytic_mean_in_s(a, b, var)
    assert abs(exact - spec_value) <= 0.0005 + 1e-9  # the spec's values are these, rounded
    assert abs(mean - exact) < 4 * se


def test_complex_all_overall_mean(big):
    d = big["complex_all"]
    mean, se = _mean_and_se(d["cie"])
    assert 0.003 > 3 * se
    assert abs(mean - (-0.032)) < 0.003  # spec §6d, overall ≈ -0.032
    assert abs(mean - 0.25 * _analytic_mean_in_s(lambda s: 1 + 1.5 * s, lambda s: 1 + 0.5 * s, _VAR_MED)) < 4 * se


def test_complex_part_proportion_ratio(big):
    # spec §6d: ratio of means CIE/TE in S ≈ 0.32
    d = big["complex_part"]
    in_s = d[d["subgroup"] == 1]
    assert abs(in_s["cie"].mean() / in_s["te"].mean() - 0.32) < 0.01


# --------------------------------------------------------------------------------------------
# quadrature truths vs brute-force Monte Carlo over the error terms (noise_sd 0.5 and 2)


def _mc_truth(row: pd.Series, scenario: str, noise_sd: float, n_draws: int, rng) -> dict[str, tuple[float, float]]:
    """Brute-force E over (e_M, e_Y) of the potential-outcome contrasts for one unit: (mean, MC SE)."""
    x1, x2, x3, x4 = row["x1"], row["x2"], row["x3"], row["x4"]
    h = float(row["subgroup"]) * (x1 + x2)
    e_y = rng.normal(0.0, noise_sd, n_draws)
    if scenario == "total_complex":
        base = 1 + x3 + x4 + 0.5 * x1 + 0.5 * x2 + e_y
        diff = expit(-(base + h)) - expit(-base)
        return {"te": (diff.mean(), diff.std(ddof=1) / math.sqrt(n_draws))}
    e_m = rng.normal(0.0, noise_sd, n_draws)
    c = h if scenario == "complex_part" else 0.0

    def y(t, t_m):
        m = x3 + x4 + 0.5 * x1 + 0.5 * x2 + t_m * h + e_m
        return expit(-(1 + m + 0.5 * x3 + 0.5 * x4 + t * c + e_y))

    y11, y10, y01, y00 = y(1, 1), y(1, 0), y(0, 1), y(0, 0)
    out = {}
    for name, diff in [("cie", y11 - y10), ("cde", y10 - y00), ("te", y11 - y00), ("cie_control", y01 - y00),
                       ("cde_treated", y11 - y01)]:
        out[name] = (diff.mean(), diff.std(ddof=1) / math.sqrt(n_draws))
    return out


@pytest.mark.parametrize("noise_sd", [0.5, 2.0])  # sd of the sigmoid's argument 0.71 (Gauss-Hermite), 2.8 (trapezoid)
@pytest.mark.parametrize("scenario", ["complex_all", "complex_part", "total_complex"])
def test_quadrature_truth_matches_monte_carlo(scenario, noise_sd):
    d = simulate(scenario, n=60, noise_sd=noise_sd, random_state=9)
    rows = pd.concat([d[d["subgroup"] == 1].head(3), d[d["subgroup"] == 0].head(2)])
    assert len(rows) == 5
    rng = np.random.default_rng(123)
    gaps = []
    for _, row in rows.iterrows():
        mc = _mc_truth(row, scenario, noise_sd, 10**6, rng)
        for name, (mc_mean, mc_se) in mc.items():
            assert abs(row[name] - mc_mean) <= 4 * mc_se + 1e-12, (name, row[name], mc_mean, mc_se)
        # the integration matters: in S the noise-free plug-in sigmoid is many MC SEs away
        if row["subgroup"] == 1:
            gaps.append(abs(_plug_in_te(row, scenario) - row["te"]) / mc["te"][1])
    assert max(gaps) > 20


def _plug_in_te(row: pd.Series, scenario: str) -> float:
    """te with the errors set to 0 inside the sigmoid (what the quadrature must NOT return)."""
    x1, x2, x3, x4 = row["x1"], row["x2"], row["x3"], row["x4"]
    h = float(row["subgroup"]) * (x1 + x2)
    base = 1 + x3 + x4 + 0.5 * x1 + 0.5 * x2
    if scenario == "total_complex":
        return float(expit(-(base + h)) - expit(-base))
    base = base + 0.5 * x3 + 0.5 * x4
    c = h if scenario == "complex_part" else 0.0
    return float(expit(-(base + h + c)) - expit(-base))


@pytest.mark.parametrize("sd", [0.0, 0.014, 0.707, 1.2, 1.5, 1.6, 3.0, 10.0, 50.0])
def test_expected_sigmoid_against_adaptive_quadrature(sd):
    # Gauss-Hermite up to sd 1.5, trapezoid rule beyond; reference: scipy.integrate.quad with a
    # breakpoint at the sigmoid's centre
    means = np.array([-4.0, -0.3, 0.0, 0.5, 2.5, 40.0])
    got = simulation._expected_sigmoid(means, sd**2)
    for mean, value in zip(means, got):
        if sd == 0:
            assert value == expit(-mean)
            continue
        ref = integrate.quad(lambda z: expit(-(mean + sd * z)) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi),
                             -14, 14, points=[-mean / sd] if abs(mean / sd) < 14 else None,
                             epsabs=1e-15, epsrel=1e-13, limit=500)[0]
        assert abs(value - ref) < 1e-12, (mean, value, ref)


# --------------------------------------------------------------------------------------------
# errors and docs


@pytest.mark.parametrize("bad", ["simple", "complex-all", "", 3, None])
def test_unknown_scenario(bad):
    with pytest.raises(ParameterError, match="scenario") as info:
        simulate(bad, n=10)
    assert info.value.parameter == "scenario"
    assert isinstance(info.value, ValueError)
    for name in SCENARIOS:
        assert repr(name) in str(info.value)
    with pytest.raises(ParameterError):
        scenario_kind(bad)


def test_unknown_scenario_suggests_close_name():
    with pytest.raises(ParameterError, match="Did you mean 'complex_all'"):
        simulate("complex-all", n=10)


@pytest.mark.parametrize("kwargs, parameter", [
    ({"n": 1}, "n"), ({"n": 10.0}, "n"), ({"n": True}, "n"),
    ({"noise_sd": -0.1}, "noise_sd"), ({"noise_sd": float("nan")}, "noise_sd"), ({"noise_sd": "0.1"}, "noise_sd"),
    ({"noise_sd": float("inf")}, "noise_sd"),
    ({"random_state": -1}, "random_state"), ({"random_state": np.random.RandomState(0)}, "random_state"),
])
def test_bad_parameters(kwargs, parameter):
    with pytest.raises(ParameterError, match=parameter) as info:
        simulate("simple_all", **kwargs)
    assert info.value.parameter == parameter


def test_docstring_examples_run():
    result = doctest.testmod(simulation, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
