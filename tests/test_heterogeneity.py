"""The heterogeneity test (mediationhte.inference.heterogeneity): BLP, GATES, group effects, and their wiring.

References used here, all outside the code under test:
- closed forms of the best linear predictor for a known tau(x) and proxy (population regression algebra);
- the HC3 covariance written out from MacKinnon & White (1985): (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2) X (X'X)^-1;
- simulations whose truth is fixed by construction (a constant effect: H0 holds exactly), where the rejection
  rate must stay within alpha + 3 Monte Carlo SEs and the p-values must pass a KS test against U(0, 1).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mediationhte as mh
from mediationhte import ParameterError
from mediationhte.errors import AssumptionWarning
from mediationhte.inference.heterogeneity import blp_test, calibration_test, dr_proxy, group_effects, welch_anova

COVS = " + ".join(f"x{i}" for i in range(1, 11))


def _hc3(y, X):
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    e = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    meat = X.T @ (X * (e**2 / (1 - h) ** 2)[:, None])
    return beta, bread @ meat @ bread


def test_blp_coefficients_and_hc3_match_the_formulas():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    gamma = 1.0 + 0.5 * x + rng.normal(scale=1 + np.abs(x), size=n)   # heteroskedastic pseudo-outcomes
    proxy = x + rng.normal(scale=0.5, size=n)
    test = blp_test(gamma, proxy)
    beta, cov = _hc3(gamma, np.column_stack([np.ones(n), proxy - proxy.mean()]))
    np.testing.assert_allclose(test.blp["estimate"], beta, rtol=1e-10)
    np.testing.assert_allclose(test.blp["std_error"], np.sqrt(np.diag(cov)), rtol=1e-10)
    z = beta[1] / np.sqrt(cov[1, 1])
    assert test.p_value == pytest.approx(stats.t.sf(z, n - 2), rel=1e-10)   # one-sided
    assert test.cov_type == "HC3" and test.n_obs == n


def test_blp_estimates_the_population_loading():
    # tau(x) = 1 + 0.5 x, proxy S = x + N(0, 0.5^2): beta1 = E[tau] = 1 and beta2 = cov(tau, S) / var(S)
    # = 0.5 / 1.25 = 0.4 (population algebra). n = 20000, so both within 4 SE.
    rng = np.random.default_rng(4)
    n = 20_000
    x = rng.normal(size=n)
    test = blp_test(1.0 + 0.5 * x + rng.normal(size=n), x + rng.normal(scale=0.5, size=n))
    est, se = test.blp["estimate"], test.blp["std_error"]
    assert abs(est["ate"] - 1.0) < 4 * se["ate"]
    assert abs(est["heterogeneity"] - 0.4) < 4 * se["heterogeneity"]


def test_gates_are_the_group_means_of_the_pseudo_outcomes():
    rng = np.random.default_rng(5)
    n = 503
    proxy = rng.normal(size=n)
    gamma = proxy + rng.normal(size=n)
    test = blp_test(gamma, proxy, n_groups=4)
    order = np.argsort(proxy, kind="stable")
    groups = np.empty(n, dtype=int)
    groups[order] = (np.arange(n) * 4) // n
    for g in range(4):
        assert test.gates.loc[g + 1, "estimate"] == pytest.approx(gamma[groups == g].mean(), rel=1e-12)
        assert test.gates.loc[g + 1, "n"] == np.sum(groups == g)
    diff = test.gates_tests.loc["top - bottom", "estimate"]
    assert diff == pytest.approx(gamma[groups == 3].mean() - gamma[groups == 0].mean(), rel=1e-12)
    assert test.gates_tests.loc["all equal", "p_value"] < 1e-6


def test_group_effects_test_is_welchs_anova_as_statsmodels_computes_it():
    # Reference: statsmodels' independent implementation of Welch's (1951) heteroskedastic one-way ANOVA
    # (statsmodels.stats.oneway.anova_oneway, use_var="unequal"; R's oneway.test(var.equal = FALSE)).
    from statsmodels.stats.oneway import anova_oneway

    rng = np.random.default_rng(6)
    labels = rng.integers(0, 3, size=300)
    gamma = np.array([0.0, 0.3, 0.6])[labels] + rng.normal(size=300) * np.array([1.0, 3.0, 0.5])[labels]
    table, p = group_effects(gamma, labels)
    D = (labels[:, None] == np.arange(3)).astype(float)
    beta, _ = _hc3(gamma, D)
    np.testing.assert_allclose(table["estimate"], beta, rtol=1e-12)
    peer = anova_oneway(gamma, labels, use_var="unequal", welch_correction=True)
    assert p == pytest.approx(float(peer.pvalue), rel=1e-9)
    statistic, p_direct = welch_anova(gamma, labels, np.arange(3))
    assert statistic == pytest.approx(float(peer.statistic), rel=1e-9) and p_direct == p


def test_welch_test_holds_its_level_with_unequal_subgroups_and_spreads():
    # Subgroups of 10, 20 and 470 units whose SDs are 4, 2 and 0.5 (small and noisy beside large and quiet, as found
    # subgroups can be); pure noise, alpha = 0.05, 2000 replicates: the rejection rate must stay within 3 Monte Carlo
    # SEs of 0.05 (+-0.015). The HC3 Wald with n - K df that Welch's test replaced fails this (0.071 over 3000
    # replicates of this design, measured when it was replaced; Welch's 0.047).
    rng = np.random.default_rng(8)
    labels = np.repeat(np.arange(3), [10, 20, 470])
    spread = np.array([4.0, 2.0, 0.5])[labels]
    reps = 2000
    rejected = sum(group_effects(rng.normal(size=len(labels)) * spread, labels)[1] < 0.05 for _ in range(reps))
    mcse = np.sqrt(0.05 * 0.95 / reps)
    assert abs(rejected / reps - 0.05) < 3 * mcse


def test_a_one_unit_subgroup_has_no_interval_and_stays_out_of_the_wald_test():
    # A held-out half can hold a single unit of a subgroup: its HC3 leverage is 1 (0/0). Regression: this raised
    # "invalid value encountered in divide" from statsmodels for some seeds of subgroups().
    rng = np.random.default_rng(0)
    gamma = rng.normal(size=101)
    labels = np.r_[np.zeros(50), np.ones(50), [2.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table, p = group_effects(gamma, labels)
    assert table.loc[2.0, "estimate"] == gamma[100] and np.isnan(table.loc[2.0, "std_error"])
    assert p == pytest.approx(group_effects(gamma[:100], labels[:100])[1], rel=1e-12)


def test_cluster_robust_path_uses_cr2_and_cluster_degrees_of_freedom():
    rng = np.random.default_rng(7)
    clusters = np.repeat(np.arange(40), 10)
    x = rng.normal(size=400)
    gamma = 1 + x + rng.normal(size=40)[clusters] + rng.normal(size=400)
    test = blp_test(gamma, x, clusters=clusters)
    assert test.cov_type == "CR2"
    z = test.blp.loc["heterogeneity", "estimate"] / test.blp.loc["heterogeneity", "std_error"]
    assert test.p_value == pytest.approx(stats.t.sf(z, 39), rel=1e-10)


def test_constant_proxy_gives_p_one_with_a_note():
    test = blp_test(np.random.default_rng(1).normal(size=50), np.ones(50))
    assert test.p_value == 1.0 and "does not vary" in test.note


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ParameterError, match="proxy"):
        blp_test(np.zeros(10), np.zeros(9))
    with pytest.raises(ParameterError, match="finite"):
        blp_test(np.r_[np.nan, np.zeros(9)], np.arange(10.0))
    with pytest.raises(ParameterError, match="clusters"):
        blp_test(np.zeros(10), np.arange(10.0), clusters=np.zeros(3))
    with pytest.raises(ParameterError, match="train"):
        dr_proxy(np.zeros(10), np.zeros((10, 2)), np.ones(10, dtype=bool), seed=1)


def test_blp_level_and_uniform_p_values_under_a_constant_nonzero_effect():
    # H0 with an effect that exists (tau = 2 for everyone), heteroskedastic noise, and a proxy that is a fixed
    # function of X (what an out-of-fold proxy is, given the other folds): 2000 replicates.
    rng = np.random.default_rng(8)
    reps, n = 2000, 300
    p = np.empty(reps)
    for r in range(reps):
        x = rng.normal(size=n)
        p[r] = blp_test(2.0 + rng.normal(scale=np.exp(x / 2), size=n), np.sin(x) + x).p_value
    alpha, mcse = 0.05, np.sqrt(0.05 * 0.95 / reps)
    assert np.mean(p < alpha) <= alpha + 3 * mcse
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_calibration_test_level_with_the_split_proxy():
    # The whole construction (DR-learner proxy on one half, BLP on the other) under H0: 300 replicates, n = 400.
    # (A 5-fold cross-fitted proxy pooled into one regression rejected 16% of 150 such replicates: see the Notes
    # of calibration_test.)
    rng = np.random.default_rng(9)
    reps = 300
    p = np.empty(reps)
    for r in range(reps):
        X = rng.normal(size=(400, 3))
        gamma = 1.0 + rng.normal(scale=2.0, size=400)
        p[r] = calibration_test(gamma, X, np.arange(400) % 2 == 0, seed=r).p_value
    assert np.mean(p < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_calibration_test_has_power():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(1000, 3))
    gamma = np.where(X[:, 0] > 0, 1.5, 0.5) + rng.normal(scale=2.0, size=1000)
    assert calibration_test(gamma, X, np.arange(1000) % 2 == 0, seed=1).p_value < 0.01


def test_calibration_test_with_refitted_unit_effects_holds_its_level_and_has_power():
    # The proxy the package uses: unit effects of a model fitted on the training half (here: a spurious smooth
    # function of X plus noise under H0, the true tau plus estimation noise under H1), carried to the held-out half
    # by effect_proxy. Under H0 the held-out pseudo-outcomes have a constant mean whatever the proxy is: 300
    # replicates, rejection within 3 MC SEs of 0.05 and KS-uniform p-values.
    rng = np.random.default_rng(11)
    reps, n = 300, 400
    train = np.arange(n) % 2 == 0
    p = np.empty(reps)
    for r in range(reps):
        X = rng.normal(size=(n, 3))
        gamma = 1.0 + rng.normal(scale=2.0, size=n)
        spurious = np.sin(2 * X[train, 0]) + X[train, 1] + rng.normal(scale=0.3, size=train.sum())
        p[r] = calibration_test(gamma, X, train, seed=r, unit_effects=spurious).p_value
    assert np.mean(p < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert stats.kstest(p, "uniform").pvalue > 0.01
    X = rng.normal(size=(1000, 3))
    tau = np.where(X[:, 0] > 0, 1.5, 0.5)
    gamma = tau + rng.normal(scale=2.0, size=1000)
    train = np.arange(1000) % 2 == 0
    estimated = tau[train] + rng.normal(scale=0.3, size=train.sum())
    assert calibration_test(gamma, X, train, seed=1, unit_effects=estimated).p_value < 0.001
    with pytest.raises(ParameterError, match="unit_effects"):
        calibration_test(gamma, X, train, seed=1, unit_effects=estimated[:-1])


# ----------------------------------------------------------------------------- wiring into the fits


def _boosting_fit(design, noise_sd, seed):
    d = mh.simulate(design, 1000, noise_sd=noise_sd, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mh.mediate(f"y ~ treat + m + {COVS}", f"m ~ treat + {COVS}", d, learner="boosting", n_folds=5,
                         random_state=seed)
    return d, fit


@pytest.fixture(scope="module")
def simple_all_fit():
    # CIE = h = S (x1 + x2) with S = {x1 > 0, x2 > 0}; noise 0.5, where the validity table's power is 1.00 (100/100).
    return _boosting_fit("simple_all", 0.5, 2)


@pytest.fixture(scope="module")
def outcome_path_fit():
    # Heterogeneity only in the mediator -> outcome slope (CIE = 1 + h, the T -> M effect is 1 for everyone), at
    # noise 0.01: M = b_M + T + 0.01 e, so the mediator (with X) tells the arms apart for every unit.
    return _boosting_fit("outcome_path", 0.01, 2)


def test_ml_fit_detects_heterogeneity_and_matches_subgroups(simple_all_fit):
    data, fit = simple_all_fit
    test = fit.test_heterogeneity(random_state=3)
    assert type(test).__name__ in mh.__all__ and isinstance(test, mh.HeterogeneityTest)   # an exported class
    assert test.p_value < 0.05 and test.heterogeneous
    # beta1 estimates the average indirect effect E[h] (the truth's mean in this sample)
    truth = float(data["cie"].mean())
    assert abs(test.blp.loc["ate", "estimate"] - truth) < 4 * test.blp.loc["ate", "std_error"]
    sub = fit.subgroups(k=[2, 3], embedding="none", n_boot=0, random_state=3)
    assert sub.calibration == "blp" and sub.p_value == test.p_value
    assert sub.heterogeneity_test.p_value == test.p_value
    frame = sub.to_frame()
    assert {"subgroup_effect", "subgroup_effect_ci_lower", "subgroup_effect_ci_upper"} <= set(frame.columns)
    assert "Heterogeneity test (BLP" in str(sub) and 0 <= sub.p_subgroups <= 1
    # the direct effect is 0 for everyone here: its test gives an ordinary p-value, not a rejection by design
    direct = fit.test_heterogeneity("direct", random_state=3)
    assert direct.effect.startswith("direct") and 0 < direct.p_value <= 1


def test_natural_effects_are_not_tested_when_the_mediator_reveals_the_arm(outcome_path_fit):
    # Simple-Global at noise 0.01 rejected 16 of 100 times under H0 (benchmarks/results/mlearner_calibration.md
    # before this check): the indirect effect's pseudo-outcomes were the outcome model's extrapolation error.
    data, fit = outcome_path_fit
    assert "The mediator reveals the arm: for 1000 of 1000 units" in fit.positivity_note
    for effect in ("indirect", "direct", "cie_control", "cde_treated"):
        test = fit.test_heterogeneity(effect, random_state=3)
        assert np.isnan(test.p_value) and not test.heterogeneous and "reveals the arm" in test.note
        assert test.blp.isna().all().all() and "NA: not tested" in str(test)
    total = fit.test_heterogeneity("total", random_state=3)   # needs no cross-world extrapolation
    assert 0 < total.p_value <= 1 and total.note == ""
    sub = fit.subgroups(k=[2], embedding="none", n_boot=0, random_state=3)
    assert np.isnan(sub.p_value) and np.isnan(sub.p_subgroups) and not sub.heterogeneous
    assert 0 <= sub.calibration_result.p_leaf <= 1   # the a-path line needs no extrapolation
    assert "NA: not tested" in str(sub) and any("reveals the arm" in note for note in sub.notes)
    assert "subgroup_effect" not in sub.to_frame().columns


def test_summary_and_plot_of_the_test(simple_all_fit):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    test = simple_all_fit[1].test_heterogeneity(random_state=1)
    text = str(test)
    assert "Best linear predictor" in text and "GATES" in text
    ax = test.plot()
    assert len(ax.lines) >= 2
    assert test.to_frame().index.tolist() == ["ate", "heterogeneity"]


def test_cate_and_linear_fits():
    d = mh.simulate("total_simple", 800, noise_sd=0.5, random_state=4)
    fit = mh.cate(f"y ~ treat + {COVS}", d, learner="t", random_state=4)
    test = fit.test_heterogeneity(random_state=1)
    assert test.p_value < 0.01 and test.effect == "t"
    sub = fit.subgroups(k=[2], embedding="none", random_state=1)
    assert sub.calibration == "blp"
    jobs = mh.load_jobs()
    linear = mh.mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs)
    with pytest.raises(ParameterError, match="pseudo-outcomes"):
        linear.test_heterogeneity()


def test_crt_fit_uses_cluster_robust_errors():
    d = mh.simulate_crt("A", n_clusters=40, cluster_size=(10, 20), random_state=5)
    fit = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", d, learner="lmm")
    test = fit.test_heterogeneity(random_state=1)
    assert test.cov_type == "CR2" and test.effect == "cate"
    sub = fit.subgroups(k=[2], embedding="none", random_state=1)
    assert sub.calibration == "blp" and sub.p_value == test.p_value


def test_proxy_and_subgroups_never_see_the_held_out_half():
    # Honesty, checked by behaviour: replace the outcome and the mediator of the held-out half by noise and refit.
    # Nothing before the test looks at that half, so the subgroups found and the proxy (the GATES cut points) must
    # not change, while the test itself (on the held-out pseudo-outcomes) must.
    data = mh.simulate("simple_all", 600, noise_sd=0.5, random_state=8)
    formulas = (f"y ~ treat + m + {COVS}", f"m ~ treat + {COVS}")
    options = dict(learner="boosting", n_folds=2, random_state=8)
    sub = mh.mediate(*formulas, data, **options).subgroups(k=[2, 3], embedding="none", n_boot=0, random_state=4)
    held = sub.calibration_result.test_rows
    noisy = data.copy()
    rng = np.random.default_rng(0)
    for column in ("y", "m"):
        noisy.iloc[held, noisy.columns.get_loc(column)] = rng.normal(size=len(held))
    again = mh.mediate(*formulas, noisy, **options).subgroups(k=[2, 3], embedding="none", n_boot=0, random_state=4)
    np.testing.assert_array_equal(again.calibration_result.test_rows, held)
    assert again.rules == sub.rules
    np.testing.assert_allclose(again.heterogeneity_test.gates[["proxy_low", "proxy_high"]],
                               sub.heterogeneity_test.gates[["proxy_low", "proxy_high"]], rtol=1e-12)
    assert again.p_value != sub.p_value


def test_too_few_permutations_warn(outcome_path_fit):
    with pytest.warns(AssumptionWarning, match="n_permutations=9"):
        outcome_path_fit[1].subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=9,
                                      n_boot=0, random_state=1)


def test_test_heterogeneity_is_reproducible_and_checks_effect(simple_all_fit):
    fit = simple_all_fit[1]
    a, b = fit.test_heterogeneity(random_state=7), fit.test_heterogeneity(random_state=7)
    pd.testing.assert_frame_equal(a.blp, b.blp)
    with pytest.raises(ParameterError, match="effect"):
        fit.test_heterogeneity(("indirect", "direct"))
    with pytest.raises(ParameterError, match="effect"):
        fit.test_heterogeneity("nonsense")


def test_held_out_subgroup_effects_survive_the_within_subgroup_bootstrap():
    # Regression: the within-subgroup bootstrap used to overwrite the held-out effect columns with NaN.
    fit = mh.mediate("depress2 ~ treat + job_seek + econ_hard + sex + age", "job_seek ~ treat + econ_hard + sex + age",
                     mh.load_jobs(), learner="boosting", n_folds=3, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = fit.subgroups(k=[2], embedding="none", n_boot=20, random_state=2)
    frame = sub.to_frame()
    assert frame["subgroup_effect"].notna().all()
    held = sub.calibration_result.subgroup_effects
    np.testing.assert_array_equal(frame["subgroup_effect"].to_numpy(), held["estimate"].to_numpy())


def test_percentile_interval_without_any_draws_is_nan():
    from mediationhte.inference.intervals import percentile_interval

    lo, hi = percentile_interval(np.empty((0, 3)), alpha=0.05)
    assert np.isnan(lo).all() and np.isnan(hi).all()


@pytest.mark.parametrize("shift", [2.0, 3.3])
def test_arm_revealed_share_matches_its_closed_form(shift):
    # M = x + shift * T + e, e ~ N(0, 1): the true logit of P(T = 1 | M, x) is shift * (M - x - shift / 2), so the
    # share of units beyond [0.01, 0.99] is P(|shift * u| > log 99) with u ~ N(shift / 2, 1) (either arm, by symmetry).
    from scipy import stats

    from mediationhte.mlearner import overlap

    rng = np.random.default_rng(5)
    n = 6000
    x = rng.normal(size=(n, 2))
    t = np.arange(n) % 2
    m = x[:, 0] + shift * t + rng.normal(size=n)
    cut = np.log(99) / shift
    truth = stats.norm.sf(cut - shift / 2) + stats.norm.cdf(-cut - shift / 2)
    share = overlap.arm_revealed_share(x, t, m, np.arange(n) % 5, (0.01, 0.99))
    assert share == pytest.approx(truth, abs=4 * np.sqrt(truth * (1 - truth) / n) + 0.01)
    # the threshold 0.5 lies between the two shifts' shares (0.098 and 0.61): only the larger shift is declined
    assert (overlap.mediator_overlap_problem(share, n) != "") == (shift > 3)


@pytest.mark.parametrize("module", ["mediationhte.inference.heterogeneity", "mediationhte.mlearner.overlap"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
