"""cate(): the public entry, its validation, and every method of CateResults end to end.

Known truths: a simulated observational design whose ATE (1.0), ATT and tau(x) = 1 + x1 are known by
construction; statsmodels' TreatmentEffect for the IPTW and RA numbers through the public API.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mediationhte as mh
from mediationhte import DataError, FormulaError, ParameterError, cate


def _observational(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    group = rng.choice(["a", "b", "c"], size=n)
    e = 1 / (1 + np.exp(-(0.6 * x1 - 0.4 * x2)))
    t = (rng.uniform(size=n) < e).astype(int)
    y = 1 + x1 + x2 + (group == "b") + t * (1 + x1) + rng.normal(scale=0.5, size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2, "g": pd.Categorical(group)})


@pytest.fixture(scope="module")
def data():
    return _observational()


@pytest.fixture(scope="module")
def fit(data):
    return cate("y ~ t + x1 + x2 + g", data, learner=["s", "t", "x", "dr"], base_learner="linear", random_state=3)


def test_average_effects_recover_the_truth(fit, data):
    # Truth: ATE = E[1 + x1] = 1. The linear outcome model is correct (tau linear in x1), the logit score correct.
    table = fit.to_frame()
    for key in ("regression_adjustment", "iptw", "iptw_stabilised", "aipw", "matching_ate"):
        est, se = table.loc[key, ["estimate", "std_error"]]
        assert abs(est - 1.0) < 4 * se, (key, est, se)
    # confounding pushes the naive contrast up (x1 raises both T and Y)
    assert table.loc["difference_in_means", "estimate"] > 1.3
    # ATT = E[1 + x1 | T = 1], computed from the simulated rows
    att_truth = 1 + data.x1[data.t == 1].mean()
    est, se = table.loc["matching_att", ["estimate", "std_error"]]
    assert abs(est - att_truth) < 4 * se


def test_unit_effects_recover_tau(fit, data):
    truth = 1 + data.x1.to_numpy()
    for name in ("t", "x", "dr"):
        assert np.sqrt(np.mean((fit.effects[name] - truth) ** 2)) < 0.15, name
    assert list(fit.effects.columns) == ["s", "t", "x", "dr"]
    assert fit.effects.index.equals(data.index)


def test_public_api_matches_statsmodels_ipw_and_ra(data):
    from statsmodels.treatment.treatment_effects import TreatmentEffect
    import statsmodels.api as sm

    unpenalised = make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=5000, tol=1e-12))
    res = cate("y ~ t + x1 + x2", data, learner="t", base_learner="linear", propensity_learner=unpenalised,
               clip=(1e-9, 1 - 1e-9), random_state=0).to_frame()
    X = sm.add_constant(data[["x1", "x2"]].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        te = TreatmentEffect(sm.OLS(data.y.to_numpy(), X), data.t.to_numpy(),
                             results_select=sm.Logit(data.t.to_numpy(), X).fit(disp=0))
        ipw = te.ipw(return_results=True, disp=False).summary_frame().iloc[0]
        ra = te.ra(return_results=True, disp=False).summary_frame().iloc[0]
    assert res.loc["iptw_stabilised", "estimate"] == pytest.approx(ipw["coef"], abs=1e-6)
    assert res.loc["regression_adjustment", "estimate"] == pytest.approx(ra["coef"], abs=1e-8)


def test_default_propensity_is_a_reproducible_hand_written_model(fit, data):
    X = pd.get_dummies(data[["x1", "x2", "g"]], prefix_sep="=", dtype=float).to_numpy()
    hand = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, data.t)
    np.testing.assert_allclose(fit.propensity().scores.to_numpy(), hand.predict_proba(X)[:, 1], atol=1e-10)


def test_summary_renders_in_every_format(fit):
    s = fit.summary()
    text = str(s)
    for label in ("Difference in means", "Regression adjustment", "IPTW (1/e weights, Horvitz-Thompson)",
                  "AIPW (cross-fitted)", "PS matching, ATT", "DR-learner", "IPTW weights by arm"):
        assert label in text, label
    assert "\\begin{table}" in s.as_latex() and "<table>" in s.as_html() and "|" in s.as_markdown()
    assert list(s.to_frame().index)[:2] == ["difference_in_means", "regression_adjustment"]
    assert s.to_frame("r").index[0] == "Difference in means"
    assert "Estimate" in s.to_frame("statsmodels").columns


def test_results_are_immutable(fit):
    eff = fit.effects
    eff.iloc[:, :] = 0.0
    assert not (fit.effects == 0).all().all()
    with pytest.raises(AttributeError):
        fit.call = "x"
    with pytest.raises(ValueError):
        fit.data.X[0, 0] = 1.0


def test_input_frame_is_not_modified(data):
    before = data.copy()
    cate("y ~ t + x1 + g", data, learner="s", base_learner="linear", random_state=0)
    pd.testing.assert_frame_equal(data, before)


def test_same_seed_same_numbers(data):
    a = cate("y ~ t + x1 + x2", data, learner=["x", "dr"], random_state=11)
    b = cate("y ~ t + x1 + x2", data, learner=["dr", "x"], random_state=11)
    np.testing.assert_array_equal(a.effects["dr"], b.effects["dr"])
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_propensity_diagnostics(fit):
    p = fit.propensity()
    assert 0.6 < p.auc_in_sample < 0.9 and 0.6 < p.auc_crossfit < 0.9
    q = p.quantiles()
    assert list(q.index) == ["control", "treated"] and q.loc["treated", "0.5"] > q.loc["control", "0.5"]
    assert 0 <= p.share_outside()["all"] <= 1
    assert "AUC in sample" in str(p)


def test_balance_improves_after_weighting(fit):
    b = fit.balance().to_frame()
    assert abs(b.loc["x1", "smd_raw"]) > 0.2
    assert abs(b.loc["x1", "smd_weighted"]) < 0.1
    assert abs(b.loc["x1", "smd_matched"]) < 0.1


def test_by_buckets(fit):
    out = fit.by("x1", bins=4)
    assert out.shape == (4, 12)
    means = out[("t", "mean")].to_numpy()
    assert np.all(np.diff(means) > 0)  # tau = 1 + x1 rises with x1
    assert out[("t", "count")].sum() == fit.n_obs
    with pytest.raises(ParameterError) as err:
        fit.by("nope")
    assert err.value.parameter == "column"


def test_uplift_ranks_the_heterogeneous_learners_first(fit, data):
    # tau = 1 + x1. The linear S-learner has no treatment interaction, so its tau-hat is constant and its ranking
    # carries no information (Qini coefficient near the random line); T, X and DR recover the slope in x1, so their
    # Qini coefficients are far larger, and the top decile they pick has a true mean effect near
    # 1 + E[x1 | top decile of x1] = 1 + 1.755 (normal tail mean).
    up = fit.uplift()
    assert set(up.learners) == {"s", "t", "x", "dr"}
    qini = up.qini_coefficient
    for name in ("t", "x", "dr"):
        assert qini[name] > 5 * abs(qini["s"]), (name, qini.to_dict())
    top = up.slices.xs(0.1, level="fraction")
    assert (top["n"] == int(np.ceil(0.1 * fit.n_obs))).all()
    chosen = np.argsort(-fit.effects["dr"].to_numpy(), kind="stable")[: int(np.ceil(0.1 * fit.n_obs))]
    assert (1 + data["x1"].to_numpy()[chosen]).mean() == pytest.approx(2.755, abs=0.25)


def test_refute_placebo_and_random_common_cause(data):
    fit = cate("y ~ t + x1 + x2", data, learner="dr", base_learner="linear", random_state=1)
    ref = fit.refute(n_simulations=2, random_state=5)
    tab = ref.to_frame()
    aipw = tab.loc[("placebo", "AIPW")]
    assert abs(aipw["refuted"]) < 0.25 and abs(aipw["original"] - 1) < 0.25
    rcc = tab.loc[("random_common_cause", "AIPW")]
    assert abs(rcc["change"]) < 0.05
    assert "expected" in tab.columns and "Refutations" in str(ref)
    again = fit.refute(n_simulations=2, random_state=5, n_jobs=2).to_frame()
    pd.testing.assert_frame_equal(tab, again)


def test_bootstrap_ci_identical_for_any_n_jobs(data):
    small = data.iloc[:400]
    fit = cate("y ~ t + x1 + x2", small, learner="t", base_learner="linear", random_state=1)
    a = fit.bootstrap_ci(n_boot=30, random_state=4)
    b = fit.bootstrap_ci(n_boot=30, random_state=4, n_jobs=2)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    frame = a.to_frame()
    assert (frame["ci_lower"] < frame["estimate"]).all() and (frame["estimate"] < frame["ci_upper"]).all()
    # the bootstrap SE of the difference in means is close to its closed-form SE (within 30% at B = 30)
    assert frame.loc["difference_in_means", "std_error"] == pytest.approx(
        fit.to_frame().loc["difference_in_means", "std_error"], rel=0.3)


def test_trim_drops_rows_with_a_warning(data):
    with pytest.warns(mh.DroppedRowsWarning, match="trim"):
        fit = cate("y ~ t + x1 + x2", data, learner="t", base_learner="linear", trim=(0.2, 0.8), random_state=0)
    assert len(fit.trimmed_index) > 0 and fit.n_obs + len(fit.trimmed_index) == len(data)
    assert "trim removed" in str(fit.summary())


def test_caliper_reports_unmatched(data):
    fit = cate("y ~ t + x1 + x2", data, learner="t", base_learner="linear", caliper=0.001, random_state=0)
    assert "had no match" in str(fit.summary())


def test_subgroups_on_tau(fit):
    sub = fit.subgroups(effect="t", k=[2, 3], calibration="split", random_state=2)
    assert sub.to_frame()["n"].sum() == fit.n_obs
    assert any("x1" in rule for rule in sub.rules)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(learner="z"), "learner"),
    (dict(base_learner="gbm"), "base_learner"),
    (dict(propensity_learner=LinearRegression()), "propensity_learner"),
    (dict(clip=(0.5, 0.1)), "clip"),
    (dict(clip=0.1), "clip"),
    (dict(caliper=-1), "caliper"),
    (dict(n_folds=1), "n_folds"),
    (dict(alpha=1.5), "alpha"),
])
def test_parameter_errors(data, kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        cate("y ~ t + x1", data, **kwargs)
    assert err.value.parameter == parameter


def test_formula_and_data_errors(data):
    with pytest.raises(ParameterError, match="no covariates"):
        cate("y ~ t", data)
    with pytest.raises(FormulaError, match="both sides"):
        cate("y ~ t + y + x1", data)
    with pytest.raises(DataError) as err:
        cate("y ~ x1 + x2", data)
    assert err.value.column == "x1" and err.value.role == "treatment"
    with pytest.raises(DataError) as err:
        cate("y ~ t + x1 + x2", data, treatment="x2")
    assert "binary" in str(err.value)
    with pytest.raises(DataError) as err:
        cate("y ~ t + x1", data.assign(t=np.r_[np.ones(5), np.zeros(len(data) - 5)].astype(int)))
    assert "smaller arm" in str(err.value)
    with pytest.raises(FormulaError, match="missing from the right-hand side"):
        cate("y ~ x1", data, treatment="t")


def test_randhie_loads_without_download():
    d = mh.load_randhie()
    assert d.shape == (20190, 12)
    assert d["T"].mean() == pytest.approx(0.5447, abs=1e-4)
    assert (d["Y"] == d["mdvis"]).all()


@pytest.mark.parametrize("module", ["mediationhte.api.cate", "mediationhte.cate.results", "mediationhte.cate.propensity"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _permutation_p(result):
    """The documented permutation p-value, (1 + #{null min p_leaf <= observed}) / (1 + B), from the stored nulls."""
    null = result.calibration_result.null_p
    return (1 + np.sum(null <= result.p_leaf)) / (1 + len(null))


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_subgroups_permutation_reruns_the_learner_identically_for_any_n_jobs(data):
    fit = cate("y ~ t + x1 + x2", data.iloc[:500], learner="t", base_learner="linear", random_state=2)
    a = fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=4, random_state=1)
    b = fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=4, random_state=1, n_jobs=2)
    assert a.p_value == b.p_value and a.p_leaf == b.p_leaf
    np.testing.assert_array_equal(a.calibration_result.null_p, b.calibration_result.null_p)
    assert len(a.calibration_result.null_p) == 4 and a.p_value == pytest.approx(_permutation_p(a), abs=1e-15)


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_subgroups_permutation_p_value_has_power_and_size(data):
    # Power: tau(x) = 1 + x1 (strong planted heterogeneity, n = 500). The observed minimum p_leaf (about 1e-12) is
    # below every one of B = 9 null values (the smallest of 19 was about 0.1), so p is the floor 1 / (1 + B) = 0.1
    # exactly, matching the formula applied to the stored null distribution.
    fit = cate("y ~ t + x1 + x2", data.iloc[:500], learner="t", base_learner="linear", random_state=2)
    strong = fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=9, random_state=1)
    assert strong.p_leaf < 1e-10 < 1e-3 < strong.calibration_result.null_p.min()
    assert strong.p_value == pytest.approx(1 / 10, abs=1e-15) == _permutation_p(strong)
    # Size: a randomised design with no effect at all, so permuting the treatment is exact and the p-value is
    # uniform on {1/10, ..., 1} (B = 9). It must follow the formula and not be small: a valid test gives p <= 0.2
    # with probability 0.2 (the seed is fixed; a p computed in the wrong tail or floored would fail here).
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(2, 500))
    t = rng.permutation(np.repeat([0, 1], 250))
    null_data = pd.DataFrame({"y": 1 + x1 + x2 + rng.normal(scale=0.5, size=500), "t": t, "x1": x1, "x2": x2})
    null_fit = cate("y ~ t + x1 + x2", null_data, learner="t", base_learner="linear", random_state=0)
    null = null_fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=9, random_state=0)
    assert null.p_value == pytest.approx(_permutation_p(null), abs=1e-15)
    assert null.p_value > 0.2 and not null.heterogeneous


def test_dropped_rows_warning_points_at_the_caller(data):
    holey = data.assign(x1=data["x1"].where(data.index != 3))
    with pytest.warns(mh.DroppedRowsWarning, match="1 row") as record:
        cate("y ~ t + x1", holey, learner="t", base_learner="linear", random_state=0)
    assert record[0].filename == __file__
    crt = simulate_crt_with_hole()
    with pytest.warns(mh.DroppedRowsWarning) as record:
        cate("y ~ treat * x1 + (1 | cluster)", crt, learner="lmm")
    assert record[0].filename == __file__


def simulate_crt_with_hole():
    d = mh.simulate_crt("A", random_state=1)
    return d.assign(x1=d["x1"].where(d.index != 0))
