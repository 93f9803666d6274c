"""M-learner steps 2-4 (mediationhte.subgroups.discover): embedding, clustering, CART profiles, p_leaf and discover()."""

import dataclasses
import re
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from subgroup_data import planted

from mediationhte.subgroups.cart import Encoding, GrownTree, _format_threshold
from mediationhte.errors import DataError, ParameterError
from mediationhte.subgroups.discover import (
    CP_GRID,
    cluster_embedding,
    discover,
    embed_effects,
    fit_profile,
    leaf_pvalue,
)


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fit_none(data):
    X, S, t, m, y, effect = data
    return discover(effect, X, t, m, y, embedding="none", seed=1)


@pytest.fixture(scope="module")
def fit_tsne(data):
    X, S, t, m, y, effect = data
    return discover(effect, X, t, m, y, embedding="tsne", seed=1)


def _purity(leaf, S):
    """Share of units in the majority S-class of their leaf, per leaf."""
    return [max(S[leaf == g].mean(), 1 - S[leaf == g].mean()) for g in np.unique(leaf)]


# ---------------------------------------------------------------------------------------------- discover
@pytest.mark.parametrize("which", ["fit_none", "fit_tsne"])
def test_discover_recovers_planted_subgroup(which, data, request):
    fit = request.getfixturevalue(which)
    X, S, t, m, y, effect = data
    assert fit.profile.split_variables == ("x1", "x2")
    assert min(_purity(fit.labels, S)) >= 0.95
    assert fit.p_leaf < 1e-10
    assert fit.response == "mediator"
    assert fit.p_leaf == fit.k_table["p_leaf_m"].min()
    assert list(fit.k_table.columns) == ["k", "n_leaves", "p_leaf_m", "p_leaf_y", "cv_error"]
    assert list(fit.k_table["k"]) == [2, 3, 4, 5]


def test_discover_with_a_pair_of_effects(data):
    X, S, t, m, y, effect = data
    pair = np.c_[effect, 10 * effect + np.random.default_rng(0).normal(size=len(effect))]
    fit = discover(pair, X, t, m, y, k=[2, 3], embedding="none", seed=1)
    assert fit.embedding.shape == (len(effect), 2)
    assert fit.profile.split_variables == ("x1", "x2")


def test_ties_keep_the_smaller_k(fit_none):
    best = fit_none.k_table["p_leaf_m"].min()
    tied = fit_none.k_table.loc[fit_none.k_table["p_leaf_m"] == best, "k"]
    assert fit_none.k == tied.min()


def test_null_p_leaf_is_not_tiny():
    X, S, t, m, y, effect = planted(seed=3, null=True)
    fit = discover(effect, X, t, m, y, embedding="none", seed=2)
    assert fit.p_leaf > 1e-3


def test_discover_without_mediator_uses_outcome(data):
    X, S, t, m, y, effect = data
    fit = discover(effect, X, t, None, y, k=[2, 3], embedding="none", seed=1)
    assert fit.response == "outcome"
    assert fit.k_table["p_leaf_m"].isna().all()
    assert fit.p_leaf == fit.k_table["p_leaf_y"].min()


def test_discover_is_deterministic(data, fit_tsne):
    X, S, t, m, y, effect = data
    again = discover(effect, X, t, m, y, embedding="tsne", seed=1)
    np.testing.assert_array_equal(again.embedding, fit_tsne.embedding)
    np.testing.assert_array_equal(again.labels, fit_tsne.labels)
    pd.testing.assert_frame_equal(again.k_table, fit_tsne.k_table)


def test_subgroup_fit_is_frozen(fit_none):
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit_none.k = 3
    with pytest.raises(ValueError):
        fit_none.labels[0] = 5
    table = fit_none.k_table
    table.loc[0, "p_leaf_m"] = -1.0
    assert fit_none.k_table.loc[0, "p_leaf_m"] != -1.0
    with pytest.raises(TypeError):
        fit_none.profiles[2] = None


@pytest.mark.parametrize("bad, match", [
    (dict(k=[1, 2]), "Parameter k"),
    (dict(embedding="umap"), "Parameter method"),
    (dict(profile="largest"), "Parameter profile"),
    (dict(seed=-1), "Parameter seed"),
])
def test_discover_rejects_bad_options(data, bad, match):
    X, S, t, m, y, effect = data
    kwargs = dict(embedding="none", seed=1) | bad
    with pytest.raises(ParameterError, match=match):
        discover(effect, X, t, m, y, **kwargs)


def test_discover_rejects_bad_data(data):
    X, S, t, m, y, effect = data
    with pytest.raises(ParameterError, match="effects has 599 rows"):
        discover(effect[:-1], X, t, m, y, seed=1)
    with pytest.raises(DataError, match="0/1 with both arms"):
        discover(effect, X, t + 1, m, y, seed=1)
    with pytest.raises(DataError, match="non-finite"):
        discover(np.r_[np.nan, effect[1:]], X, t, m, y, seed=1)


# ---------------------------------------------------------------------------------------------- p_leaf
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leaf_pvalue_equals_statsmodels_anova(seed):
    rng = np.random.default_rng(seed)
    n = 300
    leaf = rng.choice(["a", "b", "c", "d"], size=n)
    t = rng.integers(0, 2, size=n)
    y = 2.0 + 0.3 * t + 0.4 * t * (leaf == "b") + (leaf == "c") + rng.normal(size=n)
    df = pd.DataFrame(dict(y=y, t=t, leaf=leaf))
    full = smf.ols("y ~ C(leaf) * t", df).fit()
    reduced = smf.ols("y ~ C(leaf) + t", df).fit()
    expected = anova_lm(reduced, full)["Pr(>F)"].iloc[1]
    np.testing.assert_allclose(leaf_pvalue(leaf, t, y), expected, rtol=1e-10)


def test_leaf_pvalue_leaf_with_one_arm_drops_its_slope():
    rng = np.random.default_rng(4)
    n = 200
    leaf = np.repeat([0, 1, 2], [80, 80, 40])
    t = rng.integers(0, 2, size=n)
    t[leaf == 2] = 1  # leaf 2 has no controls: its slope is aliased, as in R
    y = t * (leaf == 1) + rng.normal(size=n)
    df = pd.DataFrame(dict(y=y, t=t, leaf=leaf))
    with pytest.warns(SingularMatrixWarning):  # statsmodels notes the aliased slope, then uses the rank
        full = smf.ols("y ~ C(leaf) * t", df).fit()
    reduced = smf.ols("y ~ C(leaf) + t", df).fit()
    table = anova_lm(reduced, full)
    assert table["df_diff"].iloc[1] == 1
    np.testing.assert_allclose(leaf_pvalue(leaf, t, y), table["Pr(>F)"].iloc[1], rtol=1e-8)


def test_leaf_pvalue_degenerate_cases():
    t = np.array([0, 1] * 10)
    y = np.arange(20.0)
    assert np.isnan(leaf_pvalue(np.zeros(20), t, y))  # one leaf: nothing to test
    exact = np.r_[np.zeros(10), np.ones(10)]
    assert leaf_pvalue(exact, t, t * exact) == 0.0  # the full model fits exactly, the reduced one does not


# ---------------------------------------------------------------------------------------------- embedding
def test_embedding_is_deterministic_given_seed():
    effect = planted(n=300)[5]
    a = embed_effects(effect, seed=5)
    b = embed_effects(effect, seed=5)
    c = embed_effects(effect, seed=6)
    assert a.shape == (300, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_embedding_none_standardises_a_pair():
    rng = np.random.default_rng(0)
    pair = np.c_[rng.normal(5, 2, 200), rng.normal(-1, 0.1, 200)]
    z = embed_effects(pair, method="none", seed=0)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1)
    assert embed_effects(pair, seed=0, initialization="spectral").shape == (200, 2)


def test_embedding_constant_effect_is_all_zero():
    assert np.all(embed_effects(np.full(50, 0.3), seed=0) == 0)


def test_embedding_subsample_and_transform_path():
    effect = planted(n=1000)[5]
    z = embed_effects(effect, seed=3, max_embed=400, n_iter=200)
    assert z.shape == (1000, 2) and np.all(np.isfinite(z))
    # transformed units land next to subsample units with a similar effect
    big = effect > 1.5
    centre_big, centre_small = z[big].mean(axis=0), z[~big].mean(axis=0)
    closer = np.linalg.norm(z[big] - centre_big, axis=1) < np.linalg.norm(z[big] - centre_small, axis=1)
    assert closer.mean() > 0.9


@pytest.mark.slow
def test_tsne_at_6000_units_has_linear_memory():
    effect = planted(n=6000)[5]
    tracemalloc.start()
    start = time.perf_counter()
    z = embed_effects(effect, seed=1)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert z.shape == (6000, 2)
    assert peak < 6000**2 * 8 / 4  # far below one n x n float matrix (288 MB)
    assert elapsed < 120


# ---------------------------------------------------------------------------------------------- clustering
def test_cluster_embedding_one_labelling_per_k():
    z = embed_effects(planted(n=300)[5], method="none", seed=0)
    labels = cluster_embedding(z, [2, 4], seed=9)
    assert sorted(labels) == [2, 4]
    assert set(np.unique(labels[4])) <= {0, 1, 2, 3}
    again = cluster_embedding(z, [2, 4], seed=9)
    np.testing.assert_array_equal(labels[4], again[4])


def test_cluster_embedding_with_fewer_distinct_points_than_k():
    z = np.repeat([0.0, 1.0], 50)  # sklearn would warn; filterwarnings=error makes that a failure
    labels = cluster_embedding(z, [3], seed=0)[3]
    assert len(np.unique(labels)) == 2


# ---------------------------------------------------------------------------------------------- CART profiles
@pytest.fixture(scope="module")
def occupations():
    rng = np.random.default_rng(7)
    n = 800
    levels = ["sales workers", "clerical/kindred", "professionals", "operatives"]
    cov = pd.DataFrame({
        "econ_hard": rng.uniform(1, 5, n).round(2),
        "occp": pd.Categorical(rng.choice(levels, n), categories=levels),
        "age": rng.integers(18, 70, n),
        "noise": rng.normal(size=n),
    })
    labels = (cov.occp.isin(levels[:2]) & (cov.age > 40)).astype(int).to_numpy()
    return cov, labels


def test_profile_rules_use_column_names_and_levels(occupations):
    cov, labels = occupations
    prof = fit_profile(labels, cov)
    assert prof.split_variables == ("occp", "age")
    assert prof.n_leaves == len(prof.rules) == len(np.unique(prof.leaf))
    joined = " | ".join(prof.rules)
    assert "occp in {sales workers, clerical/kindred}" in joined
    assert "age > 40.5" in joined or "age > 40" in joined
    pattern = r"^(\S+ (<=|>) -?[\d.]+|[\d.-]+ < \S+ <= [\d.-]+|\S+ = .+|\S+ in \{.+\})( and .+)*$"
    assert all(re.match(pattern, r) for r in prof.rules)
    for g, rule in enumerate(prof.rules):  # every rule describes its leaf exactly
        np.testing.assert_array_equal(_rule_mask(rule, cov), prof.leaf == g)


def _rule_mask(rule, cov):
    """Evaluate a rule text on the covariates (the grammar leaf_rules writes)."""
    mask = np.ones(len(cov), dtype=bool)
    for cond in rule.split(" and "):
        if mo := re.fullmatch(r"(\S+) in \{(.*)\}", cond):
            mask &= cov[mo[1]].isin(mo[2].split(", ")).to_numpy()
        elif mo := re.fullmatch(r"(\S+) = (.*)", cond):
            mask &= (cov[mo[1]] == mo[2]).to_numpy()
        elif mo := re.fullmatch(r"(\S+) < (\S+) <= (\S+)", cond):
            mask &= ((cov[mo[2]] > float(mo[1])) & (cov[mo[2]] <= float(mo[3]))).to_numpy()
        elif mo := re.fullmatch(r"(\S+) (<=|>) (\S+)", cond):
            col = cov[mo[1]]
            mask &= (col <= float(mo[3]) if mo[2] == "<=" else col > float(mo[3])).to_numpy()
        else:
            raise AssertionError(f"unexpected condition {cond!r}")
    return mask


def test_profile_apply_matches_training_leaves(occupations):
    cov, labels = occupations
    prof = fit_profile(labels, cov)
    np.testing.assert_array_equal(prof.tree.apply(cov), prof.leaf)
    np.testing.assert_array_equal(prof.tree.apply(cov.iloc[::-1]), prof.leaf[::-1])
    assert set(prof.tree.predict(cov)) <= {0, 1}
    with pytest.raises(ValueError):
        prof.leaf[0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        prof.rules = ()


def test_best_cv_is_the_largest_frontier_tree(occupations):
    cov, labels = occupations
    rng = np.random.default_rng(1)
    noisy = np.where(rng.uniform(size=len(labels)) < 0.15, rng.integers(0, 3, len(labels)), labels)
    smallest = fit_profile(noisy, cov, profile="smallest")
    best = fit_profile(noisy, cov, profile="best_cv")
    frontier = smallest.frontier
    assert frontier["n_leaves"].is_monotonic_increasing
    assert frontier["cv_error"].is_monotonic_decreasing
    assert smallest.n_leaves == frontier["n_leaves"].iloc[0]
    assert best.n_leaves == frontier["n_leaves"].iloc[-1]
    assert best.cv_error == frontier["cv_error"].min()


def test_profile_none_without_two_labels(occupations):
    cov, _ = occupations
    assert fit_profile(np.zeros(len(cov), dtype=int), cov) is None


def test_profile_rejects_missing_covariates(occupations):
    cov, labels = occupations
    bad = cov.assign(age=cov.age.astype(float).where(cov.index != 3))
    with pytest.raises(DataError, match="'age'"):
        fit_profile(labels, bad)


def test_cp_grid_is_the_authors():
    assert len(CP_GRID) == 16
    assert CP_GRID[:4] == (1e-6, 5e-6, 1e-5, 1.5e-5) and CP_GRID[-5:] == (1e-4, 5e-4, 1e-3, 5e-3, 0.01)


def test_weakest_link_prunes_splits_that_do_not_change_the_majority():
    from sklearn.tree import DecisionTreeClassifier

    # x < 1: all class 0; 1 <= x < 2: 70% class 0; x >= 2: class 1. The split at x = 1 separates two
    # class-0 majorities, so it lowers no misclassification and is free to prune (alpha = 0).
    x = np.r_[np.full(40, 0.5), np.full(40, 1.5), np.full(40, 2.5)][:, None]
    y = np.r_[np.zeros(40), np.r_[np.zeros(28), np.ones(12)], np.ones(40)].astype(int)
    grown = GrownTree.grow(DecisionTreeClassifier(random_state=0, min_samples_leaf=5), x, y)
    tree = grown.estimator.tree_
    internal = np.flatnonzero(tree.children_left >= 0)
    assert len(internal) == 2
    assert sorted(grown.collapse[internal]) == [0.0, 40.0]  # root: R(root) 52 -> R(T) 12, one extra leaf


def test_threshold_text_keeps_observed_values_on_their_side():
    observed = np.array([3.16, 3.175, 4.0])
    assert _format_threshold(3.1675, observed) == "3.17"
    assert _format_threshold(41.5, np.array([41.0, 42.0])) == "41.5"
    assert _format_threshold(1234.5, np.array([1234.0, 1235.0])) == "1234"  # x <= 1234 splits them the same way
    assert _format_threshold(0.0356123, np.array([0.0356, 0.0357])) == "0.0356"
    assert _format_threshold(0.03561, np.array([0.03560001, 0.03562])) == "0.03561"


def test_encoding_unknown_level_gets_zero_dummies(occupations):
    cov, _ = occupations
    enc = Encoding.fit(cov)
    new = cov.head(2).astype({"occp": object})
    new.loc[new.index[0], "occp"] = "farmers"
    X = enc.transform(new)
    assert X[0, 1:5].sum() == 0 and X[1, 1:5].sum() == 1
