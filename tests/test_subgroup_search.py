"""results.subgroups(): the M-learner's calibrated subgroup search on a fitted ML mediation model."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import mediationhte as mh
from mediationhte.errors import ParameterError
from mediationhte.subgroups import search as search_module
from mediationhte.subgroups.search import SUBGROUP_ESTIMANDS

XS = " + ".join(f"x{i}" for i in range(1, 11))


def ml_fit(scenario, n=1000, noise_sd=0.01, seed=1, index=None):
    data = mh.simulate(scenario, n=n, noise_sd=noise_sd, random_state=seed)
    if index is not None:
        data.index = index
    return data, mh.mediate(f"y ~ treat + m + {XS}", f"m ~ treat + {XS}", data=data, learner="boosting",
                            n_folds=2, random_state=seed)


@pytest.fixture(scope="module")
def planted():
    # Simple-All: the T -> M effect is x1 + x2 inside S = {x1 > 0 and x2 > 0} and 0 outside (spec mlearner.md 6b).
    return ml_fit("simple_all", index=pd.Index([f"r{i}" for i in range(1000)]))


@pytest.fixture(scope="module")
def threshold_subgroups(planted):
    _, fit = planted
    return fit.subgroups(k=[2, 3], embedding="none", calibration="threshold", p_threshold=0.01, n_boot=50,
                         random_state=5)


def test_split_calibration_finds_the_planted_subgroup(planted):
    _, fit = planted
    sub = fit.subgroups(k=[2, 3], embedding="none", calibration="split", n_boot=0, random_state=2)
    assert sub.calibration == "split"
    assert sub.heterogeneous and sub.p_value < 0.01
    # The truth: S is defined by x1 and x2 only; the profile found on one half must split on both.
    assert {"x1", "x2"} <= set(sub.fit.profile.split_variables)
    # Every unit (both halves) is assigned to a subgroup by the discovered tree.
    assert sub.to_frame()["n"].sum() == 1000
    cal = sub.calibration_result
    assert len(cal.discovery_rows) + len(cal.test_rows) == 1000
    assert np.isnan(sub.embedding[cal.test_rows]).all() and np.isfinite(sub.embedding[cal.discovery_rows]).all()


def test_split_calibration_under_the_null_is_not_significant():
    # Simple-Null1: no treatment effect on the mediator anywhere, so the held-out F-test has nothing to find.
    _, fit = ml_fit("simple_null1", seed=3)
    sub = fit.subgroups(k=[2, 3], embedding="none", calibration="split", n_boot=0, random_state=2)
    assert not sub.heterogeneous and sub.p_value > 0.05


def test_labels_follow_the_users_row_labels(planted, threshold_subgroups):
    data, fit = planted
    labels = threshold_subgroups.labels
    assert labels.index.equals(data.index)
    assert set(labels) == set(threshold_subgroups.to_frame().index)
    frame = threshold_subgroups.to_frame()
    assert frame["n"].tolist() == labels.value_counts().sort_index().tolist()
    # Mean unit effects per subgroup are the means of fit.effects over the subgroup's rows.
    means = fit.effects.groupby(labels).mean()
    np.testing.assert_allclose(frame["mean_cie_treated"], means["cie_treated"], rtol=1e-12)


def _ab_product(rows: pd.DataFrame, covariates):
    """ACME of the linear mediation without interaction in closed form: a (T on M) times b (M on Y)."""
    rhs = " + ".join(c for c in covariates if rows[c].nunique() > 1)
    a = smf.ols(f"m ~ treat + {rhs}", rows).fit().params["treat"]
    b = smf.ols(f"y ~ treat + m + {rhs}", rows).fit().params["m"]
    return a * b


def test_within_subgroup_mediation_is_the_linear_engine_on_the_subgroups_rows(planted, threshold_subgroups):
    data, _ = planted
    frame = threshold_subgroups.to_frame()
    covariates = [f"x{i}" for i in range(1, 11)]
    for g in frame.index:
        rows = data.loc[threshold_subgroups.labels == g]
        assert frame.loc[g, "acme_average"] == pytest.approx(_ab_product(rows, covariates), rel=1e-8, abs=1e-12)
        assert frame.loc[g, "acme_average_ci_lower"] <= frame.loc[g, "acme_average_ci_upper"]
    assert threshold_subgroups.estimands == SUBGROUP_ESTIMANDS


def test_split_mediation_uses_the_held_out_half_only(planted):
    data, fit = planted
    sub = fit.subgroups(k=[2], embedding="none", calibration="split", n_boot=20, random_state=2)
    held_out = np.zeros(len(data), dtype=bool)
    held_out[sub.calibration_result.test_rows] = True
    g = sub.to_frame()["n"].idxmax()
    rows = data.loc[(sub.labels == g).to_numpy() & held_out]
    expected = _ab_product(rows, [f"x{i}" for i in range(1, 11)])
    assert sub.to_frame().loc[g, "acme_average"] == pytest.approx(expected, rel=1e-8)
    assert any("held-out half" in note for note in sub.notes)


def test_a_subgroup_with_no_held_out_rows_gets_a_note_not_a_crash(planted, monkeypatch):
    # Found in CI: a 3-row leaf fell wholly in the search half and the held-out mediation raised a raw IndexError
    # from an empty treatment column. Seeds that produce such a leaf are rare (none in 12 x 59 + 28 x 119 pairs
    # once the search used a step 1 refitted on its own half), so the split is forced: after the calibration, every
    # row of the smallest subgroup is moved from the held-out half to the search half.
    _, fit = planted
    real = search_module.calibrate_blp

    def calibrate_with_an_empty_subgroup(*args, **kwargs):
        cal = real(*args, **kwargs)
        leaf = np.asarray(cal.profile.tree.apply(args[4]))
        labels, counts = np.unique(leaf, return_counts=True)
        smallest = np.flatnonzero(leaf == labels[np.argmin(counts)])
        return dataclasses.replace(cal, discovery_rows=np.union1d(cal.discovery_rows, smallest),
                                   test_rows=np.setdiff1d(cal.test_rows, smallest))

    monkeypatch.setattr(search_module, "calibrate_blp", calibrate_with_an_empty_subgroup)
    sub = fit.subgroups(k=[2, 3], embedding="none", n_boot=10, random_state=2)
    frame = sub.to_frame()
    held_out = np.zeros(len(sub.labels), dtype=bool)
    held_out[sub.calibration_result.test_rows] = True
    empty = [g for g in frame.index if not (held_out & (sub.labels == g).to_numpy()).any()]
    assert len(empty) == 1 and len(frame) >= 2
    assert np.isnan(frame.loc[empty[0], "acme_average"])
    assert any(note.startswith(f"Subgroup {empty[0]}: within-subgroup mediation failed (all ") for note in sub.notes)
    assert frame.drop(index=empty)["acme_average"].notna().all()


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_permutation_is_identical_for_any_n_jobs_and_follows_its_formula(planted):
    _, fit = planted
    kwargs = dict(k=[2], embedding="none", calibration="permutation", n_permutations=3, n_boot=0, random_state=11)
    one = fit.subgroups(n_jobs=1, **kwargs)
    two = fit.subgroups(n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.calibration_result.null_p, two.calibration_result.null_p)
    assert one.p_value == two.p_value
    null = one.calibration_result.null_p
    assert len(null) == 3
    assert one.p_value == (1 + np.sum(null <= one.p_leaf)) / 4
    # The planted effect is far stronger than any permutation's: the observed minimum p_leaf beats every null one.
    assert one.p_leaf < null.min() and one.p_value == pytest.approx(0.25)


def test_effect_choice_sets_what_is_embedded_and_which_p_leaf_chooses_k(planted):
    _, fit = planted
    total = fit.subgroups(effect="total", k=[2], embedding="none", calibration="threshold", p_threshold=0.01,
                          n_boot=0, random_state=1)
    assert total.fit.response == "outcome"
    te = fit.effects["te"].to_numpy()
    np.testing.assert_allclose(total.embedding[:, 0], (te - te.mean()) / te.std(ddof=1), rtol=1e-10)
    pair = fit.subgroups(effect=("indirect", "total"), k=[2], embedding="none", calibration="threshold",
                         p_threshold=0.01, n_boot=0, random_state=1)
    assert pair.embedding.shape == (1000, 2) and pair.fit.response == "mediator"
    assert "indirect (cie_treated) and total (te)" in str(pair)


@pytest.mark.parametrize("kwargs, match", [
    (dict(effect="mediated"), r"Parameter effect .*'indirect'"),
    (dict(effect=("indirect", "indirect")), "Parameter effect"),
    (dict(calibration="threshold"), r"p_threshold is required"),
    (dict(p_threshold=0.01), r"p_threshold is only used with calibration='threshold'"),
    (dict(calibration="bonferroni"), "calibration"),
    (dict(embedding="umap"), "embedding"),
    (dict(n_permutations=0), "n_permutations"),
    (dict(k=[1, 2]), "Parameter k"),
    (dict(n_boot=1), "Parameter n_boot"),
])
def test_bad_options_name_the_parameter(planted, kwargs, match):
    _, fit = planted
    with pytest.raises(ParameterError, match=match):
        fit.subgroups(**kwargs)


def test_search_leaves_the_fit_unchanged_and_results_are_frozen(planted, threshold_subgroups):
    _, fit = planted
    before = fit.effects
    fit.subgroups(k=[2], embedding="none", calibration="threshold", p_threshold=0.01, n_boot=0, random_state=1)
    pd.testing.assert_frame_equal(fit.effects, before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        threshold_subgroups.alpha = 0.1
    assert threshold_subgroups.fit.settings["seed_used"] == 5
    assert threshold_subgroups.fit.settings["calibration"] == "threshold"


def test_same_random_state_same_subgroups(planted):
    _, fit = planted
    kwargs = dict(k=[2, 3], calibration="split", n_boot=0)
    a, b = fit.subgroups(random_state=4, **kwargs), fit.subgroups(random_state=4, **kwargs)
    assert a.rules == b.rules and a.p_value == b.p_value
    pd.testing.assert_series_equal(a.labels, b.labels)


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_progress_bar(planted, capsys):
    _, fit = planted
    fit.subgroups(k=[2], embedding="none", calibration="permutation", n_permutations=2, n_boot=0, random_state=1,
                  progress=True)
    assert "permutations" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["simple_null1", "global"])
def test_split_calibration_controls_type_one_error(scenario):
    # Small version of benchmarks/bench_mlearner_calibration.py: no heterogeneity in T -> M in either scenario
    # (spec mlearner.md 6b), so the held-out p_leaf is uniform and rejects at most alpha + 2 MC standard errors.
    alpha, reps = 0.05, 40
    rejected = [ml_fit(scenario, n=600, noise_sd=0.5, seed=100 + r)[1].subgroups(
        k=[2, 3], embedding="none", calibration="split", n_boot=0, random_state=r).heterogeneous for r in range(reps)]
    assert np.mean(rejected) <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / reps)


@pytest.mark.slow
def test_split_calibration_recovers_x1_and_x2_in_simple_all():
    # Simple-All at the paper's n = 1000: the subgroup is x1 > 0 and x2 > 0; the target is >= 80% of replicates.
    reps = 10
    hits = 0
    for r in range(reps):
        sub = ml_fit("simple_all", noise_sd=0.5, seed=200 + r)[1].subgroups(
            k=[2, 3], embedding="none", calibration="split", n_boot=0, random_state=r)
        hits += sub.heterogeneous and {"x1", "x2"} <= set(sub.fit.profile.split_variables)
    assert hits >= 0.8 * reps


def test_bootstrap_of_the_subgroup_mean_effects():
    # A design the linear learner gets right, so the bootstrap intervals are checked against the truth without
    # learner bias: M = x1 + T (1 + x1) + e, Y = M + x2 + e, hence the unit CIE is exactly 1 + x1.
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(12)
    n = 1000
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    data["t"] = rng.permutation(np.arange(n) % 2)
    data["m"] = data.x1 + data.t * (1 + data.x1) + rng.normal(size=n)
    data["y"] = data.m + data.x2 + rng.normal(size=n)
    fit = mh.mediate("y ~ t + m + x1 + x2 + x3", "m ~ t + x1 + x2 + x3", data=data, learner=LinearRegression(),
                     n_folds=2, random_state=1)
    sub = fit.subgroups(k=[3], embedding="none", calibration="threshold", p_threshold=0.01, n_boot=0,
                        random_state=2)
    boot = fit.bootstrap_ci(n_boot=40, random_state=3, subgroups=sub)
    table = boot.subgroup_effects()
    frame = sub.to_frame()
    assert table.index.names == ["subgroup", "effect"] and len(table) == 5 * len(frame)
    cie = table.xs("cie_treated", level="effect")
    np.testing.assert_allclose(cie["estimate"], frame["mean_cie_treated"], rtol=1e-12)
    assert (cie["ci_lower"] < cie["estimate"]).all() and (cie["estimate"] < cie["ci_upper"]).all()
    truth = (1 + data.x1).groupby(sub.labels).mean()
    assert (np.abs(cie["estimate"] - truth) <= 3 * cie["std_error"]).all(), pd.concat([cie, truth], axis=1)
    # The average effects are bootstrapped as before, and the subgroups' rules and sizes are kept.
    assert boot.draws.shape == (40, 10)
    pd.testing.assert_series_equal(cie["rule"], frame["rule"], check_names=False)


def test_bootstrap_subgroups_must_come_from_this_fit(planted):
    _, fit = planted
    other = ml_fit("simple_null1", n=400, seed=9)[1].subgroups(k=[2], embedding="none", calibration="threshold",
                                                                 p_threshold=0.01, n_boot=0, random_state=1)
    with pytest.raises(ParameterError, match=r"Parameter subgroups must be the SubgroupResults of this fit"):
        fit.bootstrap_ci(n_boot=2, subgroups=other)
    with pytest.raises(ParameterError, match=r"needs the subgroup draws.*subgroups=fit.subgroups"):
        fit.bootstrap_ci(n_boot=2, random_state=1).subgroup_effects()


# ------------------------------------------------------------------------------------- linear fits
@pytest.fixture(scope="module")
def linear_planted():
    # The a-path is 1 + x1 (a treatment x x1 interaction in the mediator model), b = 1: the unit CIE is 1 + x1.
    rng = np.random.default_rng(21)
    n = 800
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    data["t"] = rng.permutation(np.arange(n) % 2)
    data["m"] = 0.5 * data.x2 + data.t * (1 + data.x1) + rng.normal(size=n)
    data["y"] = data.m + 0.5 * data.x3 + rng.normal(size=n)
    fit = mh.mediate("y ~ t + m + x1 + x2 + x3", "m ~ t * (x1 + x2 + x3)", data=data, sims=50, random_state=1)
    return data, fit


def test_linear_fit_unit_effects_and_split_subgroups(linear_planted):
    data, fit = linear_planted
    # Closed form of the linear models: CIE_i = b * (a_t + a_tx1 x1 + a_tx2 x2 + a_tx3 x3).
    a = smf.ols("m ~ t * (x1 + x2 + x3)", data).fit().params
    b = smf.ols("y ~ t + m + x1 + x2 + x3", data).fit().params["m"]
    expected = b * (a["t"] + a["t:x1"] * data.x1 + a["t:x2"] * data.x2 + a["t:x3"] * data.x3)
    np.testing.assert_allclose(fit.effects["cie_treated"], expected, rtol=1e-9)
    sub = fit.subgroups(k=[2, 3], embedding="none", calibration="split", n_boot=0, random_state=3)
    assert sub.heterogeneous and sub.p_value < 1e-4
    assert "x1" in sub.fit.profile.split_variables


def test_linear_rerun_is_a_refit_of_the_users_models(linear_planted):
    data, fit = linear_planted
    inputs = fit._search_inputs()
    t_perm = np.random.default_rng(5).permutation(inputs.treatment)
    rows = np.arange(0, len(data), 2)
    units = inputs.rerun(t_perm[rows], rows, np.random.default_rng(0), ("cie_treated",))
    refit = mh.mediate("y ~ t + m + x1 + x2 + x3", "m ~ t * (x1 + x2 + x3)", data=data.iloc[rows].assign(t=t_perm[rows]),
                       sims=2, random_state=1)
    pd.testing.assert_frame_equal(units, refit.effects, rtol=1e-10)


@pytest.mark.filterwarnings("ignore:Parameter n_permutations")  # B < 19: a small B on purpose
def test_linear_permutation_runs_in_threads_identically_for_any_n_jobs(linear_planted):
    _, fit = linear_planted
    kwargs = dict(k=[2], embedding="none", calibration="permutation", n_permutations=4, n_boot=0, random_state=2)
    one, two = fit.subgroups(n_jobs=1, **kwargs), fit.subgroups(n_jobs=2, **kwargs)
    np.testing.assert_array_equal(one.calibration_result.null_p, two.calibration_result.null_p)
    assert one.p_value == pytest.approx(1 / 5)  # the planted a-path heterogeneity beats every permutation


@pytest.mark.parametrize("kwargs, match", [
    (dict(covariates={"x2": 0.0}), r"this fit was made with covariates=\{'x2': 0.0\}"),
])
def test_linear_subgroups_refuse_conditional_fits(linear_planted, kwargs, match):
    data, _ = linear_planted
    fit = mh.mediate("y ~ t + m + x1 + x2 + x3", "m ~ t * (x1 + x2 + x3)", data=data, sims=10, random_state=1,
                     **kwargs)
    with pytest.raises(ParameterError, match=match):
        fit.subgroups(calibration="split")


def test_linear_subgroups_refuse_a_continuous_treatment(linear_planted):
    data, _ = linear_planted
    fit = mh.mediate("y ~ x1 + m + x2", "m ~ x1 + x2", data=data, treat_value=1.0, control_value=0.0, sims=10,
                     random_state=1)
    with pytest.raises(ParameterError, match="two-arm treatment"):
        fit.subgroups(calibration="split")


def test_ml_rerun_computes_only_the_embedded_columns_and_the_same_values(planted):
    _, fit = planted
    inputs = fit._search_inputs()
    t_perm = np.random.default_rng(8).permutation(inputs.treatment)
    rows = np.arange(len(t_perm))
    full = inputs.rerun(t_perm, rows, np.random.default_rng(4), tuple(fit.effects.columns))
    only = inputs.rerun(t_perm, rows, np.random.default_rng(4), ("cie_treated",))
    np.testing.assert_array_equal(only["cie_treated"], full["cie_treated"])
    assert only[["cie_control", "cde_control"]].isna().all().all() and full.notna().all().all()
    total = inputs.rerun(t_perm, rows, np.random.default_rng(4), ("te",))
    np.testing.assert_array_equal(total["te"], full["te"])


def test_the_users_dataframe_is_never_modified(planted, linear_planted, threshold_subgroups):
    data, fit = planted
    fresh = mh.simulate("simple_all", n=1000, noise_sd=0.01, random_state=1)
    fresh.index = data.index
    pd.testing.assert_frame_equal(data, fresh)  # after every test above ran its searches on this fit
    ldata, lfit = linear_planted
    before = ldata.copy()
    lfit.subgroups(k=[2], embedding="none", calibration="split", n_boot=20, random_state=1)
    pd.testing.assert_frame_equal(ldata, before)


def test_small_held_out_subgroups_get_a_caution_about_the_welch_test(planted):
    # Welch's test of equal subgroup effects over-rejects with skewed pseudo-outcomes in subgroups of 3-30 units
    # (9.5-12% at alpha = 0.05; 5-6% with 50 units each): tests/test_heterogeneity.py and the CHANGELOG.
    _, fit = planted
    small = fit.subgroups(k=[2, 3], embedding="none", n_boot=0, random_state=4)
    sizes = small.calibration_result.subgroup_effects["n"]
    assert sizes.loc[2] < 50 and (sizes.drop(index=2) >= 50).all()
    caution = [note for note in small.notes if "fewer than 50 held-out units" in note]
    assert len(caution) == 1 and caution[0].startswith("Subgroup 2 has fewer than 50")
    assert "Subgroup 2 has fewer than 50 held-out units" in " ".join(str(small).split())   # printed with the notes
    large = fit.subgroups(k=[2, 3], embedding="none", n_boot=0, random_state=2)
    assert (large.calibration_result.subgroup_effects["n"] >= 50).all()
    assert not any("fewer than 50" in note for note in large.notes)
