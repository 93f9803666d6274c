"""Cluster-randomised CATE: cate("y ~ treat * (...) + (1 | cluster)", ...), spec crt.md section 9 checks 5(a)-(e)
and fast versions of checks 1-4 (the replicate studies are in tests/test_crt_validity.py, marked slow).

Truths come from simulate_crt() (the spec's section 4.2 DGP: true CATE per row, sigma_b^2 = icc / (1 - icc)) and
a hand-rolled REML fit (tests/reml_reference.py, independent of the statsmodels MixedLM the package calls) for the LMM
numbers.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import DataError, FormulaError, ParameterError, cate, simulate_crt
from mediationhte.datasets.crt import crt_test_grid

FORMULA = "y ~ treat * (x1 + x2 + x3 + x4 + x5 + v1 + v2) + (1 | cluster)"
LEARNERS = ("lmm", "merf", "megb", "rf", "gbm")


@pytest.fixture(scope="module")
def scenario_a():
    return simulate_crt("A", random_state=1001)


@pytest.fixture(scope="module")
def fits(scenario_a):
    return {name: cate(FORMULA, scenario_a, learner=name, random_state=5) for name in LEARNERS}


def _rmse(fit, grid):
    return float(np.sqrt(np.mean((fit.predict(grid) - grid["tau"]) ** 2)))


def test_lmm_matches_hand_rolled_reml(scenario_a, fits):
    # Check 5(a): the fixed effects and variance components are the REML estimates. Reference: the hand-rolled REML
    # of tests/reml_reference.py (dense profile likelihood maximised with scipy; the package itself calls statsmodels
    # MixedLM) on the patsy design of the fixed part. Tolerances as in test_mixed_models.py: the log-likelihood
    # within 1e-7 of the maximum, beta to 1e-6 (atol 1e-8), sigma2 to 1e-5 and sigma_b2 to 1e-4 relative (statsmodels'
    # bfgs stops at its gradient tolerance on a surface that is flat in sigma_b2).
    import patsy

    from reml_reference import reml_random_intercept

    fixed = FORMULA.split(" + (1")[0]
    y, X = patsy.dmatrices(fixed, scenario_a, return_type="dataframe")
    exact = reml_random_intercept(y.to_numpy().ravel(), X.to_numpy(), scenario_a["cluster"].to_numpy())
    lmm = fits["lmm"].fit.lmm
    assert exact["llf"] - 1e-7 <= lmm.llf <= exact["llf"] + 1e-9
    np.testing.assert_allclose(lmm.beta, exact["beta"], rtol=1e-6, atol=1e-8)
    assert lmm.sigma2 == pytest.approx(exact["sigma2"], rel=1e-5)
    assert lmm.sigma_b2 == pytest.approx(exact["sigma_b2"], rel=1e-4)
    # the LMM's CATE is the treatment main effect plus the interaction terms, at the reference's coefficients
    coef = dict(zip(X.columns, exact["beta"]))
    expected = coef["treat"] + sum(coef[f"treat:{v}"] * scenario_a[v] for v in ("x1", "x2", "x3", "x4", "x5", "v1",
                                                                               "v2"))
    np.testing.assert_allclose(fits["lmm"].effects["cate"], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LEARNERS)
def test_cate_does_not_depend_on_the_cluster(name, fits, scenario_a):
    # Check 5(b): identical CATE for rows whose cluster is known, unknown (column dropped) or new.
    fit = fits[name]
    known = fit.effects["cate"].to_numpy()
    unknown = fit.predict(scenario_a.drop(columns="cluster")).to_numpy()
    new = fit.predict(scenario_a.assign(cluster=scenario_a["cluster"] + 10_000)).to_numpy()
    np.testing.assert_allclose(unknown, known, atol=1e-10)
    np.testing.assert_allclose(new, known, atol=1e-10)
    assert "cluster" not in fit.design.feature_names


def test_validation_errors(scenario_a):
    # Check 5(c).
    mixed = scenario_a.copy()
    mixed.loc[mixed.index[0], "treat"] = 1 - mixed.loc[mixed.index[0], "treat"]
    with pytest.raises(DataError) as err:
        cate(FORMULA, mixed)
    assert "varies within cluster" in str(err.value) and err.value.column == "treat"
    with pytest.raises(FormulaError, match="random treatment slope is not identifiable"):
        cate("y ~ treat * x1 + (treat | cluster)", scenario_a)
    with pytest.raises(FormulaError, match="never a feature"):
        cate("y ~ treat * x1 + cluster + (1 | cluster)", scenario_a)
    with pytest.raises(ParameterError) as err:
        cate(FORMULA, scenario_a, learner="dr")
    assert err.value.parameter == "learner"
    with pytest.raises(ParameterError, match="must be one of"):
        cate(FORMULA, scenario_a, learner="xgboost")
    with pytest.raises(ParameterError) as err:
        cate(FORMULA, scenario_a, trim="crump")
    assert err.value.parameter == "trim"
    with pytest.raises(ParameterError) as err:
        cate("y ~ treat + x1", scenario_a, warm_start=None)
    assert err.value.parameter == "warm_start"
    with pytest.raises(ParameterError) as err:
        cate(FORMULA, scenario_a, learner="merf", learner_type="s", warm_start=None)
    assert err.value.parameter == "warm_start"


def test_roles_and_cluster_level_covariates(fits):
    fit = fits["lmm"]
    assert fit.roles.treatment == "treat" and fit.roles.cluster == "cluster"
    assert set(fit.roles.modifiers) == {"x1", "x2", "x3", "x4", "x5", "v1", "v2"}
    assert fit.cluster_level == ("v1", "v2")


def test_no_cluster_effect_gives_zero_variance_without_failing():
    # Check 5(d): sigma_b^2 = 0 data; the LMM reports about 0; the random intercept alone (MERF without the LMM
    # offset) changes nothing against the cluster-ignoring forest T-learner (RMSE within 10%). The warm-started MERF
    # also carries the LMM's linear CATE terms, so it may only be better.
    d = simulate_crt("A", icc=0.0, random_state=7)
    lmm = cate(FORMULA, d, learner="lmm")
    assert lmm.variance_components().loc["lmm", "sigma_b2"] < 0.05
    grid = crt_test_grid("A", n=2000)
    rmse_naive = _rmse(cate(FORMULA, d, learner="merf", warm_start=None, random_state=1), grid)
    rmse_rf = _rmse(cate(FORMULA, d, learner="rf", random_state=1), grid)
    assert rmse_naive == pytest.approx(rmse_rf, rel=0.1)
    assert _rmse(cate(FORMULA, d, learner="merf", random_state=1), grid) < rmse_rf


def test_seeded_runs_are_reproducible(scenario_a):
    # Check 5(e).
    a = cate(FORMULA, scenario_a, learner="megb", random_state=3)
    b = cate(FORMULA, scenario_a, learner="megb", random_state=3)
    pd.testing.assert_frame_equal(a.effects, b.effects)
    pd.testing.assert_frame_equal(a.variance_components(), b.variance_components())


def test_warm_start_keeps_the_cluster_level_modifier():
    # Check 2, one replicate: ICC 0.2 and a cluster-level modifier (tau_B = tau_A + 0.5 v1). The warm-started MERF's
    # sigma_b^2 stays in the spec's range [0.10, 0.50] (truth 0.25), and it beats the zero-initialised MERF.
    d = simulate_crt("B", random_state=1002)
    grid = crt_test_grid("B", n=2000)
    formula = "y ~ treat * (x1 + x2 + x3 + v1 + v2) + x4 + x5 + (1 | cluster)"
    warm = cate(formula, d, learner="merf", random_state=2)
    naive = cate(formula, d, learner="merf", warm_start=None, random_state=2)
    comp = warm.fit.components
    arms = comp.loc[[i for i in comp.index if "arm" in i], "sigma_b2"]
    assert 0.10 <= arms.mean() <= 0.50
    assert _rmse(warm, grid) < _rmse(naive, grid)


def test_ate_estimators_cover_the_truth(fits, scenario_a):
    truth = scenario_a["tau"].mean()
    for name in ("lmm", "merf"):
        table = fits[name].ate()
        est, se = table.loc["adjusted_individual", ["estimate", "std_error"]]
        assert abs(est - truth) < 4 * se
    lmm = fits["lmm"].ate()
    est, se = lmm.loc["cate_mean_individual", ["estimate", "std_error"]]
    assert abs(est - truth) < 4 * se and se > 0
    cluster = fits["lmm"].ate("cluster")
    assert list(cluster.index) == ["cate_mean_cluster", "adjusted_cluster"]
    with pytest.raises(ParameterError) as err:
        fits["lmm"].ate("nope")
    assert err.value.parameter == "weights"


def test_blp_finds_the_modifiers(fits):
    # tau_A = 1 + 0.5 x1 - 0.5 x2 + 0.5 1{x3 > 0}: the projection slopes on x1 and x2 are 0.5 and -0.5 (x2 binary,
    # x1 independent of the rest); each within 4 cluster-robust SEs; the joint test rejects.
    table = fits["lmm"].blp(["x1", "x2", "x4"])
    for term, truth in (("x1", 0.5), ("x2", -0.5), ("x4", 0.0)):
        est, se = table.loc[term, ["estimate", "std_error"]]
        assert abs(est - truth) < 4 * se, term
    assert table.attrs["wald_p_value"] < 0.01
    with pytest.raises(ParameterError) as err:
        fits["lmm"].blp(["nope"])
    assert err.value.parameter == "modifiers"


def test_clustering_helps_at_high_icc(fits, scenario_a):
    # Check 1, one replicate (the R >= 20 version is slow): at ICC 0.5 the warm-started MERF beats the cluster-
    # ignoring forest T-learner; the full-formula LMM stays under the spec's 0.80.
    grid = crt_test_grid("A", n=2000)
    rmse = {name: _rmse(fit, grid) for name, fit in fits.items()}
    assert rmse["merf"] < rmse["rf"]
    assert rmse["lmm"] < 0.8
    # Against the truth: predicting the true mean effect for everyone (the best constant) has RMSE SD(tau) = 0.61
    # on the grid, which 0.8 does not beat. With treat:v1 and treat:v2 in the formula the LMM cannot beat it at
    # m = 40 clusters (cluster-level modifiers are identified from 40 values; spec pilot 0.68, here 0.78). The LMM
    # with the individual-level modifiers only, the correct form for tau_A up to the step in x3, must: its RMSE
    # below SD(tau) (10 seeds 1001-1010: 0.14-0.46), the shape of its CATE (RMSE after centring both) below
    # 0.6 SD(tau) (10 seeds: 0.14-0.34; a constant has 1.0 SD(tau)), and the level error of its grid mean within
    # 4 of the model-based SEs of its mean CATE (10 seeds: |z| <= 1.4).
    tau = grid["tau"].to_numpy()
    best_constant = float(np.sqrt(np.mean((tau - tau.mean()) ** 2)))
    assert best_constant == pytest.approx(0.61, abs=0.01)
    individual = cate("y ~ treat * (x1 + x2 + x3 + x4 + x5) + v1 + v2 + (1 | cluster)", scenario_a, learner="lmm")
    pred = individual.predict(grid).to_numpy()
    assert np.sqrt(np.mean((pred - tau) ** 2)) < best_constant
    assert np.sqrt(np.mean((pred - pred.mean() - (tau - tau.mean())) ** 2)) < 0.6 * best_constant
    se = individual.ate().loc["cate_mean_individual", "std_error"]
    assert abs(pred.mean() - tau.mean()) < 4 * se


def test_summary_and_variance_components(fits):
    text = str(fits["merf"].summary())
    for label in ("Mean CATE, individual weights", "Covariate-adjusted regression, individual (CR2)",
                  "Variance components", "REML LMM (reference)", "Clusters: 40"):
        assert label in text, label
    comp = fits["merf"].variance_components()
    assert {"sigma_b2", "sigma2", "icc"} <= set(comp.columns)


def test_cluster_bootstrap_identical_for_any_n_jobs(scenario_a):
    fit = cate("y ~ treat * (x1 + x2) + (1 | cluster)", scenario_a, learner="lmm")
    a = fit.bootstrap_ci(n_boot=20, random_state=1)
    b = fit.bootstrap_ci(n_boot=20, random_state=1, n_jobs=2)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    pd.testing.assert_frame_equal(a.cate_intervals(), b.cate_intervals())
    # per unit, the bootstrap SE of the CATE tracks the LMM's model-based one (median ratio within [0.6, 1.6] at
    # B = 20, whose Monte Carlo error on an SE is about 16%)
    ratio = a.cate_intervals()["std_error"] / fit.effects["cate_se"]
    assert 0.6 <= float(ratio.median()) <= 1.6
    # the bootstrap SE of the mean CATE is close to the LMM's model-based SE (within 40% at B = 20)
    assert a.to_frame().loc["cate_mean_individual", "std_error"] == pytest.approx(
        fit.ate().loc["cate_mean_individual", "std_error"], rel=0.4)


def test_input_not_modified_and_results_immutable(scenario_a, fits):
    before = scenario_a.copy()
    cate("y ~ treat * x1 + (1 | cluster)", scenario_a, learner="gbm", random_state=0)
    pd.testing.assert_frame_equal(scenario_a, before)
    eff = fits["lmm"].effects
    eff.iloc[:, 0] = 0
    assert not (fits["lmm"].effects["cate"] == 0).all()
    with pytest.raises(AttributeError):
        fits["lmm"].call = "x"


def test_docstring_examples_run():
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module("mediationhte.crt.results"), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
    assert mh.simulate_crt is simulate_crt


def test_cluster_leaf_test_holds_its_level_where_the_iid_test_does_not():
    # Null of no heterogeneity (tau = 1) with ICC 0.5 and a cluster-level split: the iid F-test of leaf x treatment
    # treats 1200 rows as independent and rejects far too often; the CR2 test (F(q, G - 1)) stays near alpha. The
    # leaves split on the cluster-level v1, so the leaf x T interaction is a between-cluster contrast. 200 data sets:
    # iid rejection > 0.3, CR2 rejection <= 0.05 + 3 MCSE.
    from mediationhte.subgroups.discover import leaf_pvalue

    iid, robust = [], []
    for r in range(200):
        d = simulate_crt("N", icc=0.5, random_state=3000 + r)
        leaf = (d["v1"] > 0).to_numpy().astype(int)
        iid.append(leaf_pvalue(leaf, d["treat"], d["y"]) < 0.05)
        robust.append(leaf_pvalue(leaf, d["treat"], d["y"], d["cluster"]) < 0.05)
    assert np.mean(iid) > 0.3
    assert np.mean(robust) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200)


def test_cluster_permutations_keep_clusters_in_one_arm(scenario_a):
    from mediationhte.subgroups.cluster_tests import permute_clusters, split_clusters

    t, g = scenario_a["treat"].to_numpy(), scenario_a["cluster"].to_numpy()
    perm = permute_clusters(t, g, seed=4)
    share = pd.Series(perm).groupby(g).mean()
    assert set(share.unique()) <= {0.0, 1.0} and share.sum() == 20
    a, b = split_clusters(t, g, seed=4)
    assert not set(g[a]) & set(g[b]) and len(a) + len(b) == len(t)


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_crt_subgroups_permutation_and_split(scenario_a):
    fit = cate("y ~ treat * (x1 + x2) + (1 | cluster)", scenario_a, learner="lmm")
    split = fit.subgroups(k=[2, 3], calibration="split", random_state=2)
    assert split.to_frame()["n"].sum() == fit.n_obs
    perm = fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=9, random_state=1)
    again = fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=9, random_state=1, n_jobs=2)
    assert perm.p_value == again.p_value and perm.p_value >= 0.1


def test_shrunk_lmm_matches_statsmodels_variance_components():
    # The REML engine behind learner="lmm_shrink" against statsmodels MixedLM with two variance components (cluster
    # intercepts and the standardised treatment x modifier slopes) in one group: same REML optimum.
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    from mediationhte.crt.penalized_lmm import fit_variance_components

    d = simulate_crt("A", n_clusters=20, cluster_size=(10, 20), random_state=3)
    n, g = len(d), d["cluster"].to_numpy()
    Zc = (g[:, None] == np.unique(g)[None, :]).astype(float)
    Zt = np.column_stack([d["treat"] * (d[m] - d[m].mean()) / d[m].std() for m in ("x1", "x2", "x3")])
    X = np.column_stack([np.ones(n), d["treat"], d[["x1", "x2", "x3"]].to_numpy()])
    ours = fit_variance_components(d["y"].to_numpy(), X, [Zt], groups=g)
    vcs = VCSpec(["cluster", "slopes"], [[f"c{i}" for i in range(Zc.shape[1])], ["t0", "t1", "t2"]], [[Zc], [Zt]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MixedLM(d["y"].to_numpy(), X, groups=np.ones(n), exog_vc=vcs).fit(reml=True)
    np.testing.assert_allclose(ours.beta, ref.fe_params, rtol=1e-4)
    np.testing.assert_allclose(ours.variances, ref.vcomp, rtol=1e-3)
    assert ours.sigma2 == pytest.approx(ref.scale, rel=1e-4)


def test_the_two_reml_engines_agree_on_the_plain_random_intercept_model(fits):
    # fit_variance_components without extra blocks fits the model of fit_random_intercept_lmm (statsmodels MixedLM):
    # the same REML optimum, BLUPs and conditional covariance of beta (measured here: llf 2e-10 apart, sigma_b^2
    # 4e-6, beta 4e-7, cov 4e-6 relative). They differ by where each optimiser stops, which is why the package
    # keeps both (see the top of mediationhte/crt/mixed_models.py).
    from mediationhte.crt.mixed_models import _RandomIntercept
    from mediationhte.crt.penalized_lmm import fit_variance_components

    d, lmm = fits["lmm"].design, fits["lmm"].fit.lmm
    vc = fit_variance_components(d.y, d.X_fixed, (), groups=d.groups)
    codes = np.unique(d.groups, return_inverse=True)[1]
    reml = _RandomIntercept(d.y, d.X_fixed, codes, int(codes.max()) + 1)   # one llf convention for both
    assert reml.llf(vc.variances[0] / vc.sigma2) == pytest.approx(lmm.llf, abs=1e-6)
    assert vc.variances[0] == pytest.approx(lmm.sigma_b2, rel=1e-4)
    assert vc.sigma2 == pytest.approx(lmm.sigma2, rel=1e-5)
    np.testing.assert_allclose(vc.beta, lmm.beta, rtol=1e-5)
    np.testing.assert_allclose(vc.u[0], lmm.blups, rtol=0, atol=1e-5)
    p = len(lmm.beta)
    np.testing.assert_allclose(vc.sigma2 * vc.precision_inverse[:p, :p], lmm.cov_beta, rtol=1e-4)


def test_default_learner_shows_no_spurious_heterogeneity():
    # Check 3 in small (the R = 20 version is in the slow study): constant effect tau = 1, ICC 0.3, seven candidate
    # modifiers. The default (lmm_shrink) keeps SD(tau-hat) on the test grid far below the plain LMM's.
    grid = crt_test_grid("N", n=2000)
    d = simulate_crt("N", random_state=1000)
    shrunk = cate(FORMULA, d, random_state=0)
    assert shrunk.settings.learner == "lmm_shrink"
    plain = cate(FORMULA, d, learner="lmm")
    # spec check 3's limit is 0.25; the plain LMM with seven interactions measured 0.34 on average (20 data sets)
    assert shrunk.predict(grid).std() < 0.25
    assert shrunk.predict(grid).std() < 0.5 * plain.predict(grid).std()
    assert "slope_variance" in shrunk.variance_components().columns


def _bent_effect(seed):
    # scenario A with its CATE replaced by tau = 1 + sin(pi x3): a smooth, non-linear modifier effect
    d = simulate_crt("A", random_state=seed)
    tau = 1 + np.sin(np.pi * d["x3"])
    return d.assign(y=d["y"] - d["treat"] * d["tau"] + d["treat"] * tau, tau=tau)


def _shape_rmse(fit, grid):
    # RMSE of the centred CATE: the heterogeneity's shape, free of the ATE's (cluster-level, noisy) level
    tau_hat = fit.predict(grid).to_numpy()
    return float(np.sqrt(np.mean((tau_hat - tau_hat.mean() - (grid["tau"] - grid["tau"].mean())) ** 2)))


def test_gamm_bends_with_a_smooth_modifier():
    # Truth tau = 1 + sin(pi x3). The GAMM's treatment x s(x3) block follows the curve; the LMM, linear in x3,
    # cannot: over 5 data sets the GAMM's centred-CATE RMSE on a fresh grid is at most half the LMM's (the linear
    # fit leaves about 0.5 of the curve's SD 0.71 unexplained).
    grid = crt_test_grid("A", n=2000)
    grid = grid.assign(tau=1 + np.sin(np.pi * grid["x3"]))
    gamm, lmm = [], []
    for r in range(5):
        d = _bent_effect(1100 + r)
        g = cate("y ~ treat * (x1 + s(x3)) + x2 + (1 | cluster)", d, learner="gamm")
        m = cate("y ~ treat * (x1 + x3) + x2 + (1 | cluster)", d, learner="lmm")
        gamm.append(_shape_rmse(g, grid))
        lmm.append(_shape_rmse(m, grid))
    assert np.mean(gamm) <= 0.5 * np.mean(lmm)
    # invariance and a model-based interval for the mean CATE
    np.testing.assert_allclose(g.predict(d.drop(columns="cluster")), g.effects["cate"], atol=1e-10)
    est, se = g.ate().loc["cate_mean_individual", ["estimate", "std_error"]]
    assert abs(est - d["tau"].mean()) < 4 * se


def test_smooth_terms_parse_and_validate(scenario_a):
    from mediationhte.formula.smooths import extract_smooths

    assert extract_smooths("y ~ treat * (s(x1) + s(x2, k=6) + x3)") == ("y ~ treat * (x1 + x2 + x3)",
                                                                      (("x1", 10), ("x2", 6)))
    with pytest.raises(FormulaError, match="k >= 4"):
        extract_smooths("y ~ treat * s(x1, k=3)")
    with pytest.raises(ParameterError, match="smooth term"):
        cate("y ~ treat * x1 + (1 | cluster)", scenario_a, learner="gamm")
    with pytest.warns(mh.AssumptionWarning, match="learner='gamm' only"):
        cate("y ~ treat * s(x1) + (1 | cluster)", scenario_a, learner="lmm")
    with pytest.raises(FormulaError, match="distinct values"):
        cate("y ~ treat * (x1 + s(x2)) + (1 | cluster)", scenario_a, learner="gamm")


@pytest.fixture(scope="module")
def bcf_fits(scenario_a):
    pytest.importorskip("stochtree")
    formula = "y ~ treat * (x1 + x2 + x3 + v1) + x4 + (1 | cluster)"
    return {name: cate(formula, scenario_a, learner=name, random_state=4) for name in ("bcf_re", "bcf")}


def test_bcf_random_intercept_widens_the_ate_interval(bcf_fits, scenario_a):
    # Spec check 4 (Bayesian part): the random intercept makes the ATE interval honest; the spec's pilot had
    # widths 1.8-2.1x those of BCF without it, and the gate is >= 1.4x. Both posteriors centre near the truth.
    se = {name: fit.ate().loc["cate_mean_individual", "std_error"] for name, fit in bcf_fits.items()}
    assert se["bcf_re"] >= 1.4 * se["bcf"]
    truth = scenario_a["tau"].mean()
    est = bcf_fits["bcf_re"].ate().loc["cate_mean_individual", "estimate"]
    assert abs(est - truth) < 4 * se["bcf_re"]
    comp = bcf_fits["bcf_re"].variance_components()
    assert 0.3 < comp.loc["bcf_re", "sigma_b2"] < 3.0  # truth 1.0 (ICC 0.5)


def test_bcf_is_cluster_free_and_reproducible(bcf_fits, scenario_a):
    fit = bcf_fits["bcf_re"]
    np.testing.assert_allclose(fit.predict(scenario_a.drop(columns="cluster")), fit.effects["cate"], atol=1e-10)
    again = cate("y ~ treat * (x1 + x2 + x3 + v1) + x4 + (1 | cluster)", scenario_a, learner="bcf_re",
                 random_state=4)
    pd.testing.assert_frame_equal(again.effects, fit.effects)
    assert "cate_se" in fit.effects.columns


def test_bart_with_and_without_random_intercept(scenario_a):
    # S-learner BART: the random intercept widens the ATE interval (it no longer treats 1200 rows as independent)
    # and the CATE is cluster-free; the pilot's direction, gated loosely (>= 1.2x) for one data set.
    pytest.importorskip("stochtree")
    formula = "y ~ treat * (x1 + x2 + x3 + v1) + x4 + (1 | cluster)"
    re, plain = (cate(formula, scenario_a, learner=name, random_state=4) for name in ("bart_re", "bart"))
    se_re = re.ate().loc["cate_mean_individual", "std_error"]
    assert se_re >= 1.2 * plain.ate().loc["cate_mean_individual", "std_error"]
    assert abs(re.ate().loc["cate_mean_individual", "estimate"] - scenario_a["tau"].mean()) < 4 * se_re
    np.testing.assert_allclose(re.predict(scenario_a.drop(columns="cluster")), re.effects["cate"], atol=1e-10)


def test_gpboost_warm_start_keeps_the_variance_and_the_effect():
    # Spec check 2 for GPBoost, one data set (scenario B, ICC 0.2, truth sigma_b^2 = 0.25): with the LMM warm start
    # sigma_b^2 stays in [0.10, 0.50] (the pilot's naive GPBoost reached 0.98) and the CATE RMSE is no worse than
    # the cluster-ignoring boosting S-learner's.
    pytest.importorskip("gpboost")
    d = simulate_crt("B", random_state=1003)
    grid = crt_test_grid("B", n=2000)
    formula = "y ~ treat * (x1 + x2 + x3 + x4 + x5 + v1 + v2) + (1 | cluster)"
    fit = cate(formula, d, learner="gpboost", random_state=1)
    assert 0.10 <= fit.fit.components.loc["gpboost", "sigma_b2"] <= 0.50
    assert _rmse(fit, grid) <= _rmse(cate(formula, d, learner="gbm", random_state=1), grid)
    np.testing.assert_allclose(fit.predict(d.drop(columns="cluster")), fit.effects["cate"], atol=1e-10)


def test_pointwise_cate_intervals_cover(fits, bcf_fits, scenario_a):
    # Model-based (LMM) and posterior (BCF-RE) pointwise 95% intervals, share of units whose true CATE lies inside.
    # The spec's pilot reports pointwise coverage 0.91 (LMM) and 0.70-0.82 (BCF-RE, known to be anti-conservative);
    # on this one data set we measured 0.98 and 0.60, gated at 0.9 and 0.5.
    truth = scenario_a["tau"].to_numpy()
    for fit, floor in ((fits["lmm"], 0.9), (bcf_fits["bcf_re"], 0.5)):
        ci = fit.cate_intervals()
        inside = (ci["ci_lower"] <= truth) & (truth <= ci["ci_upper"])
        assert inside.mean() > floor
    lmm = fits["lmm"].cate_intervals()
    np.testing.assert_allclose(lmm["ci_upper"] - lmm["cate"], lmm["cate"] - lmm["ci_lower"], atol=1e-12)
    with pytest.raises(ParameterError, match="cluster bootstrap"):
        fits["merf"].cate_intervals()


@pytest.mark.filterwarnings("ignore::mediationhte.errors.ContrastWarning")  # text labels on purpose
@pytest.mark.parametrize("recode", [lambda t: t.astype(bool), lambda t: t.map({0: "ctl", 1: "trt"})])
def test_predict_with_bool_and_labelled_treatments(scenario_a, recode):
    d = scenario_a.assign(treat=recode(scenario_a["treat"]))
    fit = cate("y ~ treat * (x1 + x2) + (1 | cluster)", d, learner="lmm")
    np.testing.assert_allclose(fit.predict(d.drop(columns=["cluster", "treat"])), fit.effects["cate"], atol=1e-10)
    # the same model as with the 0/1 column
    ref = cate("y ~ treat * (x1 + x2) + (1 | cluster)", scenario_a, learner="lmm")
    np.testing.assert_allclose(fit.effects["cate"], ref.effects["cate"], atol=1e-8)


def test_variance_components_returns_a_copy(scenario_a):
    # Results are immutable: editing the returned table must not change the fit (it used to be the stored frame).
    fit = cate("y ~ treat * (x1 + x2) + (1 | cluster)", scenario_a, learner="lmm")
    before = fit.variance_components().copy(deep=True)
    edited = fit.variance_components()
    edited.loc[:, ["sigma_b2", "sigma2"]] = 1.0
    pd.testing.assert_frame_equal(fit.variance_components(), before)
