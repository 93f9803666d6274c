"""Calibration of the subgroup search (mediationhte.subgroups.calibration): permutation, split and threshold modes."""

import dataclasses

import numpy as np
import pytest
from subgroup_data import planted

from mediationhte.core.random_state import spawn_seeds
from mediationhte.subgroups.calibration import (
    calibrate_permutation,
    calibrate_split,
    calibrate_threshold,
    permute_treatment,
    split_rows,
)
from mediationhte.errors import ParameterError
from mediationhte.subgroups.discover import discover, fit_profile, leaf_pvalue

TREATMENT = np.arange(40) % 2


def uniform_from_seed(treatment, seed):
    return np.random.default_rng(seed).uniform()


# ---------------------------------------------------------------------------------------------- permutation
def test_permutation_pvalue_formula():
    B, observed = 99, 0.3
    cal = calibrate_permutation(observed, uniform_from_seed, TREATMENT, n_permutations=B, seed=7)
    seeds = spawn_seeds(np.random.default_rng(7), 2 * B).reshape(-1, 2)
    null = np.array([np.random.default_rng(int(b)).uniform() for _, b in seeds])
    np.testing.assert_array_equal(cal.null_p, null)
    assert cal.p_value == (1 + np.sum(null <= observed)) / (1 + B)
    assert cal.method == "permutation" and cal.n_permutations == B and cal.p_floor == 1 / (B + 1)
    assert cal.p_leaf == observed and cal.threshold == 0.05
    assert cal.heterogeneous == (cal.p_value < 0.05)


def test_permutation_pvalue_is_uniform_when_observed_is_exchangeable():
    rng = np.random.default_rng(0)
    p = np.array([
        calibrate_permutation(rng.uniform(), uniform_from_seed, TREATMENT, n_permutations=19, seed=s).p_value
        for s in range(400)
    ])
    assert set(np.unique(p)) <= {k / 20 for k in range(1, 21)}
    for level in (0.1, 0.25, 0.5):  # P(p <= level) = level for a discrete uniform on {1/20, ..., 1}
        assert abs(np.mean(p <= level) - level) < 3 * np.sqrt(level * (1 - level) / 400)


def test_rerun_receives_permutations_of_the_treatment():
    seen = []

    def rerun(treatment, seed):
        seen.append((treatment.copy(), seed))
        return 0.5

    t = np.r_[np.ones(7, dtype=int), np.zeros(13, dtype=int)]
    calibrate_permutation(0.1, rerun, t, n_permutations=10, seed=1)
    assert len(seen) == 10
    assert all(np.sum(s) == 7 and isinstance(seed, int) for s, seed in seen)
    assert len({s.tobytes() for s, _ in seen}) == 10  # different permutations
    assert len({seed for _, seed in seen}) == 10


@pytest.mark.parametrize("prefer", ["threads", "processes"])
def test_permutation_identical_for_any_n_jobs(prefer):
    one = calibrate_permutation(0.4, uniform_from_seed, TREATMENT, n_permutations=30, seed=3, n_jobs=1)
    two = calibrate_permutation(0.4, uniform_from_seed, TREATMENT, n_permutations=30, seed=3, n_jobs=2,
                                prefer=prefer)
    np.testing.assert_array_equal(one.null_p, two.null_p)
    assert one.p_value == two.p_value


def test_permutation_with_the_real_pipeline_is_reproducible():
    X, S, t, m, y, effect = planted(n=200, seed=5)

    def rerun(permuted, seed):  # stand-in for step 1: effects are the permuted arms' mediator gap
        gap = np.where(permuted == 1, m, -m)
        return discover(gap, X, permuted, m, y, k=[2, 3], embedding="none", seed=seed).p_leaf

    a = calibrate_permutation(1e-6, rerun, t, n_permutations=4, seed=2, n_jobs=1)
    b = calibrate_permutation(1e-6, rerun, t, n_permutations=4, seed=2, n_jobs=2)
    np.testing.assert_array_equal(a.null_p, b.null_p)


def test_permutation_nan_counts_as_one():
    cal = calibrate_permutation(np.nan, lambda t, s: np.nan, TREATMENT, n_permutations=5, seed=0)
    assert cal.p_leaf == 1.0 and np.all(cal.null_p == 1.0) and cal.p_value == 1.0


def test_calibration_is_frozen():
    cal = calibrate_permutation(0.2, uniform_from_seed, TREATMENT, n_permutations=5, seed=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.p_value = 0.0
    with pytest.raises(ValueError):
        cal.null_p[0] = 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_permutations=0), "n_permutations"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(alpha=1.5), "alpha"),
    (dict(prefer="dask"), "prefer"),
])
def test_permutation_rejects_bad_options(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        calibrate_permutation(0.1, uniform_from_seed, TREATMENT, **({"seed": 0} | kwargs))


def test_permutation_rejects_non_callable():
    with pytest.raises(ParameterError, match="rerun must be callable"):
        calibrate_permutation(0.1, 3, TREATMENT, seed=0)


def test_permute_treatment_keeps_arm_sizes():
    t = np.r_[np.ones(3), np.zeros(9)].astype(int)
    p = permute_treatment(t, 4)
    assert p.sum() == 3 and not np.array_equal(p, permute_treatment(t, 5))


# ---------------------------------------------------------------------------------------------- split
@pytest.fixture(scope="module")
def split_data():
    return planted(n=600, seed=11)


def test_split_rows_are_stratified_and_disjoint():
    t = np.r_[np.ones(31), np.zeros(70)].astype(int)
    disc, test = split_rows(t, seed=3)
    assert len(np.intersect1d(disc, test)) == 0
    np.testing.assert_array_equal(np.union1d(disc, test), np.arange(101))
    assert t[disc].sum() == round(31 / 2) and (1 - t[disc]).sum() == 35
    np.testing.assert_array_equal(split_rows(t, seed=3)[0], disc)


def test_split_is_honest(split_data):
    X, S, t, m, y, effect = split_data
    calls = []

    def discover_on(rows):
        calls.append(rows)
        return fit_profile(S[rows].astype(int), X.iloc[rows])

    cal = calibrate_split(discover_on, X, t, m, seed=4)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], cal.discovery_rows)
    assert len(np.intersect1d(cal.discovery_rows, cal.test_rows)) == 0
    assert len(cal.discovery_rows) + len(cal.test_rows) == len(t)
    test = cal.test_rows
    expected = leaf_pvalue(cal.profile.tree.apply(X.iloc[test]), t[test], m[test])
    assert cal.p_value == expected == cal.p_leaf
    assert cal.p_value < 1e-6 and cal.heterogeneous
    # the mediator on the discovery rows plays no role in the p-value
    m2 = m.copy()
    m2[cal.discovery_rows] = 0.0
    assert calibrate_split(discover_on, X, t, m2, seed=4).p_value == cal.p_value
    assert "sample splitting (profile found on 300 units, p_leaf on the other 300)" == cal.describe()


def test_split_under_the_null_is_not_significant(split_data):
    X, S, t, m, y, effect = planted(n=600, seed=12, null=True)

    def discover_on(rows):
        return discover(effect[rows], X.iloc[rows], t[rows], m[rows], y[rows], embedding="none", seed=1).profile

    cal = calibrate_split(discover_on, X, t, m, seed=4)
    assert cal.p_value > 0.01


def test_split_without_profile_gives_one(split_data):
    X, S, t, m, y, effect = split_data
    cal = calibrate_split(lambda rows: None, X, t, m, seed=1)
    assert cal.p_value == 1.0 and not cal.heterogeneous and cal.profile is None


def test_split_rejects_bad_fraction(split_data):
    X, S, t, m, y, effect = split_data
    with pytest.raises(ParameterError, match="fraction"):
        calibrate_split(lambda rows: None, X, t, m, seed=1, fraction=0.99)


# ---------------------------------------------------------------------------------------------- threshold
def test_threshold_mode_is_the_papers_rule():
    cal = calibrate_threshold(0.003, 0.0043)
    assert cal.method == "threshold" and cal.p_value == 0.003 == cal.p_leaf
    assert cal.threshold == 0.0043 and cal.heterogeneous
    assert not calibrate_threshold(0.005, 0.0043).heterogeneous
    assert "none" in cal.describe() and "p* = 0.0043" in cal.describe()
    assert calibrate_threshold(np.nan, 0.01).p_value == 1.0


@pytest.mark.parametrize("bad", [0, 1, 1.5, "0.01"])
def test_threshold_rejects_bad_values(bad):
    with pytest.raises(ParameterError, match="p_threshold"):
        calibrate_threshold(0.01, bad)


# ---------------------------------------------------------------------------------------------- Type I error
def _linear_step1(X, t, m):
    """Cheap step-1 stand-in: per-arm OLS of m on X; the unit effect is the gap between the arm predictions."""
    Z = np.c_[np.ones(len(X)), X.to_numpy()]
    beta = [np.linalg.lstsq(Z[t == a], m[t == a], rcond=None)[0] for a in (0, 1)]
    return Z @ (beta[1] - beta[0])


@pytest.mark.slow
def test_permutation_controls_type_one_error_under_the_null():
    alpha, B, reps, n = 0.1, 19, 100, 200
    rejections = 0
    for rep in range(reps):
        X, S, t, m, y, _ = planted(n=n, seed=1000 + rep, null=True)

        def pipeline(treatment, seed, X=X, m=m, y=y):
            effect = _linear_step1(X, treatment, m)
            return discover(effect, X, treatment, m, y, k=[2, 3], embedding="none", seed=seed).p_leaf

        observed = pipeline(t, 1)
        cal = calibrate_permutation(observed, pipeline, t, n_permutations=B, seed=rep, alpha=alpha, n_jobs=2)
        rejections += cal.heterogeneous
    rate = rejections / reps
    assert rate <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / reps)
