"""Tests for mediationhte.cate.matching: propensity-score nearest-neighbour matching (Abadie and Imbens, 2006)."""

import dataclasses
import doctest
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from mediationhte.cate import matching
from mediationhte.errors import ParameterError
from mediationhte.cate.matching import Matches, match_on_score, matching_estimates

# Eight units; no unit is equidistant from two others, so every neighbour ranking is unambiguous (no tie rule).
SCORE = np.array([-1.30, -0.20, 0.45, 1.15, 2.05, -0.95, 0.05, 0.70])
T = np.array([1, 1, 1, 1, 1, 0, 0, 0])
Y = np.array([2.5, 3.1, 4.0, 5.2, 6.9, 0.4, 1.7, 2.2])


def _loop_reference(score, t, y, m):
    """Matching, ATT, ATE and the Abadie-Imbens (2006, Theorem 7) variances by explicit loops over units.

    This is written from the formulas in the paper (and the task brief), independently of the vectorised code:
    brute-force distances, K_M(i) by counting, sigma2_i from the nearest same-arm unit (Theorem 6, J = 1).
    """
    n = len(score)
    matches = []
    for i in range(n):
        others = [j for j in range(n) if t[j] != t[i]]
        others.sort(key=lambda j: abs(score[j] - score[i]))
        matches.append(others[:m])
    sigma2 = []
    for i in range(n):
        same = [j for j in range(n) if t[j] == t[i] and j != i]
        j = min(same, key=lambda j: abs(score[j] - score[i]))
        sigma2.append((y[i] - y[j]) ** 2 / 2)
    k_att = [0] * n
    k_ate = [0] * n
    for i in range(n):
        for j in matches[i]:
            k_ate[j] += 1
            if t[i] == 1:
                k_att[j] += 1
    yhat1, yhat0 = [], []
    for i in range(n):
        other = sum(y[j] for j in matches[i]) / m
        yhat1.append(y[i] if t[i] == 1 else other)
        yhat0.append(other if t[i] == 1 else y[i])
    n1 = sum(t)
    att = sum(y[i] - yhat0[i] for i in range(n) if t[i] == 1) / n1
    ate = sum(yhat1[i] - yhat0[i] for i in range(n)) / n
    v_ate = 0.0
    for i in range(n):
        k = k_ate[i]
        v_ate += (yhat1[i] - yhat0[i] - ate) ** 2 + ((k / m) ** 2 + (2 * m - 1) / m * (k / m)) * sigma2[i]
    v_ate /= n**2
    v_att = 0.0
    for i in range(n):
        k = k_att[i]
        v_att += t[i] * (y[i] - yhat0[i] - att) ** 2 + (1 - t[i]) * k * (k - 1) / m**2 * sigma2[i]
    v_att /= n1**2
    return dict(matches=matches, k_att=k_att, k_ate=k_ate, att=att, ate=ate, se_att=np.sqrt(v_att),
                se_ate=np.sqrt(v_ate))


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_hand_built_example_matches_explicit_loop(m, ties):
    # Reference: _loop_reference above, brute-force loops over the formulas of Abadie and Imbens (2006), Thm 6-7.
    # There are no ties in these data, so both settings of ties must give exactly the M nearest.
    ref = _loop_reference(SCORE, T, Y, m)
    res = match_on_score(SCORE, T, n_neighbors=m, ties=ties)
    assert [sorted(res.matched_units(i).tolist()) for i in range(len(T))] == [sorted(j) for j in ref["matches"]]
    assert res.n_valid.tolist() == [m] * len(T)
    assert res.times_used_att.tolist() == ref["k_att"]
    assert res.times_used_ate.tolist() == ref["k_ate"]
    est = matching_estimates(Y, T, res)
    np.testing.assert_allclose(est.loc["matching_att", "estimate"], ref["att"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.loc["matching_ate", "estimate"], ref["ate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.loc["matching_att", "std_error"], ref["se_att"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est.loc["matching_ate", "std_error"], ref["se_ate"], rtol=0, atol=1e-12)
    assert est["n_matched"].tolist() == [5, 8] and est["n_unmatched"].tolist() == [0, 0]


def test_hand_built_example_values_by_hand():
    # Reference: worked by hand for M = 1. Treated -1.30, -0.20, 0.45, 1.15, 2.05 match controls -0.95, 0.05, 0.70,
    # 0.70, 0.70 (positions 5, 6, 7, 7, 7); controls -0.95, 0.05, 0.70 match treated -1.30, -0.20, 0.45.
    res = match_on_score(SCORE, T)
    assert [res.matched_units(i).tolist() for i in range(8)] == [[5], [6], [7], [7], [7], [0], [1], [2]]
    np.testing.assert_allclose(res.max_distance, np.abs(SCORE - SCORE[[5, 6, 7, 7, 7, 0, 1, 2]]), rtol=0, atol=0)
    att = np.mean([2.5 - 0.4, 3.1 - 1.7, 4.0 - 2.2, 5.2 - 2.2, 6.9 - 2.2])
    est = matching_estimates(Y, T, res)
    np.testing.assert_allclose(est.loc["matching_att", "estimate"], att, rtol=0, atol=1e-12)
    # Same-arm neighbours by hand: -1.30 -> -0.20, -0.20 -> 0.45, 0.45 -> -0.20 (0.65 < 0.70), 1.15 -> 0.45,
    # 2.05 -> 1.15; -0.95 -> 0.05, 0.05 -> 0.70, 0.70 -> 0.05.
    assert res.same_arm_neighbor.tolist() == [1, 2, 1, 2, 3, 6, 7, 6]
    # The range representation: treated rows index the controls sorted by score (-0.95, 0.05, 0.70).
    assert res.order_control.tolist() == [5, 6, 7] and res.order_treated.tolist() == [0, 1, 2, 3, 4]
    assert res.match_lo.tolist() == [0, 1, 2, 2, 2, 0, 1, 2]
    assert (res.match_hi - res.match_lo).tolist() == [1] * 8


def test_intervals_and_p_values_are_normal():
    # Reference: the normal-theory formulas est +- z_{1 - alpha/2} se and 2 * (1 - Phi(|est| / se)).
    from scipy import stats

    est = matching_estimates(Y, T, match_on_score(SCORE, T), alpha=0.1)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(est["ci_lower"], est["estimate"] - z * est["std_error"], rtol=1e-14)
    np.testing.assert_allclose(est["ci_upper"], est["estimate"] + z * est["std_error"], rtol=1e-14)
    np.testing.assert_allclose(est["p_value"], 2 * stats.norm.sf(np.abs(est["estimate"] / est["std_error"])),
                               rtol=1e-12)


# Thirteen units with many exact ties (all scores are multiples of 0.5, so every distance is exact in binary):
# treated at 1.0, 0.5, 1.0, 0.0, 2.0, 3.0 (units 0, 3, 5, 6, 7, 11) and controls at 0.0, 2.5, 1.5, 4.0, 1.0, 2.5,
# 0.0 (units 1, 2, 4, 8, 9, 10, 12). Treated 0.5 is equidistant from the controls at 0.0, 0.0 and 1.0, treated 2.0
# from those at 1.5, 2.5 and 2.5, and so on.
TIE_SCORE = np.array([1.0, 0.0, 2.5, 0.5, 1.5, 1.0, 0.0, 2.0, 4.0, 1.0, 2.5, 3.0, 0.0])
TIE_T = np.array([1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0])
TIE_Y = np.array([4.1, 1.0, 2.2, 3.3, 1.9, 5.0, 2.8, 4.4, 3.1, 0.7, 2.6, 6.2, 1.4])


def _loop_match_sets(score, t, m, width=None, ties=True):
    """The match set J(i) of every unit, by brute force over all pairs, written from the definitions.

    ties=True: J_M(i) of Abadie and Imbens (2006), every opposite-arm unit whose distance |s_j - s_i| (the same
    floating-point subtraction) is <= the M-th smallest such distance. ties=False: the documented rule, the leftmost
    run of M consecutive opposite-arm units in (score, position) order whose distances are the M smallest. A caliper
    then keeps the members with distance <= width.
    """
    n = len(score)
    sets = []
    for i in range(n):
        others = sorted((j for j in range(n) if t[j] != t[i]), key=lambda j: (score[j], j))
        dist = [abs(score[j] - score[i]) for j in others]
        d_m = sorted(dist)[m - 1]
        if ties:
            chosen = [j for j, d in zip(others, dist) if d <= d_m]
        else:
            start = next(s for s in range(len(others)) if sorted(dist[s:s + m]) == sorted(dist)[:m])
            chosen = others[start:start + m]
        if width is not None:
            chosen = [j for j in chosen if abs(score[j] - score[i]) <= width]
        sets.append(sorted(chosen))
    return sets


def _loop_estimates(score, t, y, sets):
    """ATT, ATE and their Abadie-Imbens variances from match sets, by explicit loops over units.

    Each member of J(i) weighs 1/#J(i); w_j and q_j sum 1/#J(i) and 1/#J(i)**2 over the matched i using j (the
    treated i only for the ATT); ATE factor w**2 + 2w - q, ATT factor w**2 - q (Theorem 7 of Abadie and Imbens, 2006,
    when every #J(i) = M). sigma2_i = (y_i - y_j)**2 / 2 with j the nearest other unit of i's arm, ties broken by the
    documented rule: nearest in (score, position) order, then the one before it.
    """
    n = len(score)
    rows = [i for i in range(n) if sets[i]]
    sigma2 = []
    for i in range(n):
        order = sorted((j for j in range(n) if t[j] == t[i]), key=lambda j: (score[j], j))
        rank = {j: r for r, j in enumerate(order)}
        j = min((j for j in order if j != i), key=lambda j: (abs(score[j] - score[i]), abs(rank[j] - rank[i]),
                                                                rank[j]))
        sigma2.append((y[i] - y[j]) ** 2 / 2)
    w_ate, q_ate, w_att, q_att = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    for i in rows:
        for j in sets[i]:
            w_ate[j] += 1 / len(sets[i])
            q_ate[j] += 1 / len(sets[i]) ** 2
            if t[i] == 1:
                w_att[j] += 1 / len(sets[i])
                q_att[j] += 1 / len(sets[i]) ** 2
    yhat = {i: sum(y[j] for j in sets[i]) / len(sets[i]) for i in rows}
    diffs = {i: (y[i] - yhat[i]) if t[i] == 1 else (yhat[i] - y[i]) for i in rows}
    ate = sum(diffs.values()) / len(rows)
    v_ate = sum((diffs[i] - ate) ** 2 + (w_ate[i] ** 2 + 2 * w_ate[i] - q_ate[i]) * sigma2[i] for i in rows)
    v_ate /= len(rows) ** 2
    treated_rows = [i for i in rows if t[i] == 1]
    att = sum(diffs[i] for i in treated_rows) / len(treated_rows)
    v_att = sum((diffs[i] - att) ** 2 for i in treated_rows)
    v_att += sum((w_att[j] ** 2 - q_att[j]) * sigma2[j] for j in range(n) if t[j] == 0)
    v_att /= len(treated_rows) ** 2
    fw_ate = [(1.0 if sets[i] else 0.0) + w_ate[i] for i in range(n)]
    fw_att = [(1.0 if sets[i] and t[i] == 1 else 0.0) + w_att[i] for i in range(n)]
    return dict(att=att, ate=ate, se_att=np.sqrt(v_att), se_ate=np.sqrt(v_ate), fw_ate=fw_ate, fw_att=fw_att,
                k_att=[sum(1 for i in treated_rows if j in sets[i]) for j in range(n)],
                k_ate=[sum(1 for i in rows if j in sets[i]) for j in range(n)])


def _check_against_loops(score, t, y, res, sets):
    ref = _loop_estimates(score, t, y, sets)
    assert [sorted(res.matched_units(i).tolist()) for i in range(len(t))] == sets
    assert res.n_valid.tolist() == [len(s) for s in sets] and res.matched.tolist() == [bool(s) for s in sets]
    assert res.times_used_att.tolist() == ref["k_att"] and res.times_used_ate.tolist() == ref["k_ate"]
    est = matching_estimates(y, t, res)
    np.testing.assert_allclose(est["estimate"].to_numpy(), [ref["att"], ref["ate"]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est["std_error"].to_numpy(), [ref["se_att"], ref["se_ate"]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.frequency_weights(), ref["fw_ate"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.frequency_weights("att"), ref["fw_att"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("caliper", [None, 0.3])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_tied_example_matches_explicit_loop(m, caliper):
    # Reference: _loop_match_sets / _loop_estimates, brute force from the definition of J_M(i) with ties, every
    # tied unit weighing 1/#J_M(i). With caliper 0.3 SD (width about 0.33) the distance-0.5 ties are cut off.
    res = match_on_score(TIE_SCORE, TIE_T, n_neighbors=m, caliper=caliper)
    assert res.ties
    sets = _loop_match_sets(TIE_SCORE, TIE_T, m, res.caliper_width, ties=True)
    assert caliper is not None or max(len(s) for s in sets) > m
    _check_against_loops(TIE_SCORE, TIE_T, TIE_Y, res, sets)


def test_tied_example_values_by_hand():
    # Reference: worked by hand for M = 1. Treated 1.0, 0.5, 1.0, 0.0, 2.0, 3.0 are matched to the controls
    # {1.0}, {0.0, 0.0, 1.0}, {1.0}, {0.0, 0.0}, {1.5, 2.5, 2.5}, {2.5, 2.5}, each member weighing 1/#set.
    res = match_on_score(TIE_SCORE, TIE_T)
    treated = [0, 3, 5, 6, 7, 11]
    assert [res.matched_units(i).tolist() for i in treated] == [[9], [1, 12, 9], [9], [1, 12], [4, 2, 10], [2, 10]]
    assert [res.matched_units(i).tolist() for i in (1, 4, 8)] == [[6], [0, 5, 7], [11]]
    att = np.mean([4.1 - 0.7, 3.3 - (1.0 + 1.4 + 0.7) / 3, 5.0 - 0.7, 2.8 - (1.0 + 1.4) / 2,
                   4.4 - (1.9 + 2.2 + 2.6) / 3, 6.2 - (2.2 + 2.6) / 2])
    est = matching_estimates(TIE_Y, TIE_T, res)
    np.testing.assert_allclose(est.loc["matching_att", "estimate"], att, rtol=0, atol=1e-12)
    # ATT weights of the controls: 0.0 (twice) 1/3 + 1/2, 1.0: 1 + 1/3 + 1, 1.5: 1/3, 2.5 (twice) 1/3 + 1/2, 4.0: 0.
    expected = {1: 5 / 6, 12: 5 / 6, 9: 7 / 3, 4: 1 / 3, 2: 5 / 6, 10: 5 / 6, 8: 0.0}
    fw = res.frequency_weights("att")
    np.testing.assert_allclose(fw[list(expected)], list(expected.values()), rtol=0, atol=1e-15)
    assert fw[treated].tolist() == [1.0] * 6


def test_ties_false_takes_exactly_m_by_the_documented_rule():
    # Reference: by hand from the documented rule (equal distances go to the smaller score, then to the lower
    # position). Treated 0.5 takes the control at 0.0 with the lower position (unit 1), treated 2.0 the control at
    # 1.5 (unit 4), treated 3.0 the first control at 2.5 (unit 2); the estimates agree with the loop reference.
    res = match_on_score(TIE_SCORE, TIE_T, ties=False)
    assert not res.ties and res.n_valid.tolist() == [1] * 13
    assert [res.matched_units(i).tolist() for i in (0, 3, 5, 6, 7, 11)] == [[9], [1], [9], [1], [4], [2]]
    _check_against_loops(TIE_SCORE, TIE_T, TIE_Y, res, _loop_match_sets(TIE_SCORE, TIE_T, 1, ties=False))


def test_ties_false_keeps_the_run_contiguous():
    # Reference: by hand. Controls at 0, 0, 1, 2 (units 1-4); treated 1 with M = 2 needs the control at distance 0
    # and one of the two at 0 (distance 1): the run next to it, unit 2 (the old "lowest position" rule took unit 1
    # and left a gap, which a range cannot represent). With M = 3 both zeros are taken.
    score = np.array([1.0, 0.0, 0.0, 1.0, 2.0, 5.0, 6.0])
    t = np.array([1, 0, 0, 0, 0, 1, 1])
    assert match_on_score(score, t, n_neighbors=2, ties=False).matched_units(0).tolist() == [2, 3]
    assert match_on_score(score, t, n_neighbors=2, ties=True).matched_units(0).tolist() == [1, 2, 3, 4]
    assert match_on_score(score, t, n_neighbors=3, ties=False).matched_units(0).tolist() == [1, 2, 3]


def test_random_tied_data_match_explicit_loops():
    # Reference: _loop_match_sets / _loop_estimates on 150 small data sets with scores on a coarse grid (many exact
    # ties, some on both sides of a unit), with and without a caliper, for both settings of ties. One scale is
    # 0.1, where equal distances on either side need not be equal floats: the loops use the same subtraction.
    rng = np.random.default_rng(11)
    checked = 0
    while checked < 150:
        n = int(rng.integers(6, 25))
        t = rng.integers(0, 2, size=n)
        if min(t.sum(), n - t.sum()) < 2:
            continue
        score = rng.integers(0, int(rng.integers(2, 8)), size=n) * rng.choice([0.25, 0.1, 3.0])
        m = int(rng.integers(1, min(t.sum(), n - t.sum()) + 1))
        caliper = None if checked % 2 else float(rng.uniform(0.1, 1.0))
        for ties in (True, False):
            res = match_on_score(score, t, n_neighbors=m, caliper=caliper, ties=ties)
            sets = _loop_match_sets(score, t, m, res.caliper_width, ties=ties)
            if any(sets[i] for i in range(n) if t[i] == 1):
                _check_against_loops(score, t, rng.normal(size=n) + t, res, sets)
        checked += 1


@pytest.mark.parametrize("caliper", [None, 0.05])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_without_ties_both_settings_are_identical(m, caliper):
    # Reference: the definition. With continuous scores no two distances are equal, so J_M(i) is exactly the M
    # nearest and ties=True must reproduce ties=False bit for bit (the same ranges, hence the same arithmetic).
    rng = np.random.default_rng(5)
    x = rng.normal(size=400)
    t = (rng.random(x.size) < _expit(x)).astype(int)
    y = x + t + rng.normal(size=x.size)
    a = match_on_score(x, t, n_neighbors=m, caliper=caliper, ties=True)
    b = match_on_score(x, t, n_neighbors=m, caliper=caliper, ties=False)
    for name in ("match_lo", "match_hi", "matched", "n_valid", "max_distance", "times_used_att", "times_used_ate"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(matching_estimates(y, t, a), matching_estimates(y, t, b), check_exact=True)
    np.testing.assert_array_equal(a.frequency_weights(), b.frequency_weights())


def test_ties_go_to_the_smaller_score_then_the_lower_position():
    # Reference: the documented ties=False rule. Control at 0.5 is equidistant from treated at 0.25 and 0.75 (exact
    # in binary), so it takes 0.25; treated at 2.0 sees two controls at 2.0 and takes the first (position 3). With
    # ties=True both are kept.
    score = np.array([0.25, 0.75, 2.0, 2.0, 2.0, 0.5])
    t = np.array([1, 1, 1, 0, 0, 0])
    res = match_on_score(score, t, ties=False)
    assert res.matched_units(5).tolist() == [0]
    assert res.matched_units(2).tolist() == [3]
    assert res.same_arm_neighbor[3] == 4 and res.same_arm_neighbor[4] == 3
    tied = match_on_score(score, t)
    assert tied.matched_units(5).tolist() == [0, 1] and tied.matched_units(2).tolist() == [3, 4]


def test_heavy_ties_are_linear_in_memory():
    # Reference: exact matching cells. 10**5 units with scores on 50 values, every value present in both arms:
    # J_M(i) (M = 1 or 2) is then every opposite-arm unit with the same score, so the estimates are those of
    # exact matching, computed with pandas groupby means. Per score cell v with n1(v) treated and n0(v) controls,
    # a control has w = n1/n0, q = n1/n0**2 and a treated unit w = n0/n1, q = n0/n1**2 (Abadie-Imbens weights).
    rng = np.random.default_rng(8)
    n = 100_000
    cell = rng.integers(0, 50, size=n)
    score = cell / 49.0
    t = (rng.random(n) < 0.3 + 0.4 * score).astype(int)
    y = np.sin(cell) + t * (1 + score) + rng.normal(size=n)
    for m in (1, 2):
        tracemalloc.start()
        res = match_on_score(score, t, n_neighbors=m)
        est = matching_estimates(y, t, res)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # Each unit has about 1000 tied matches: an (n, #ties) array would take about 800 MB. (Time is measured in
        # benchmarks/bench_matching.py, not asserted here.)
        assert peak < 1000 * n, peak
        arrays = [v for v in vars(res).values() if isinstance(v, np.ndarray)]
        assert max(a.size for a in arrays) <= n and res.n_valid.min() > 500

        frame = pd.DataFrame({"cell": cell, "t": t, "y": y})
        means = frame.groupby(["cell", "t"])["y"].mean().unstack()
        sizes = frame.groupby(["cell", "t"]).size().unstack()
        m0, m1 = means[0].to_numpy()[cell], means[1].to_numpy()[cell]
        n0, n1 = sizes[0].to_numpy()[cell], sizes[1].to_numpy()[cell]
        treated = t == 1
        diff = np.where(treated, y - m0, m1 - y)
        att, ate = diff[treated].mean(), diff.mean()
        w = np.where(treated, n0 / n1, n1 / n0)
        q = np.where(treated, n0 / n1**2, n1 / n0**2)
        sigma2 = (y - y[res.same_arm_neighbor]) ** 2 / 2
        assert (score[res.same_arm_neighbor] == score).all()
        v_att = (np.sum((diff[treated] - att) ** 2) + np.sum(((w**2 - q) * sigma2)[~treated])) / treated.sum() ** 2
        v_ate = (np.sum((diff - ate) ** 2) + np.sum((w**2 + 2 * w - q) * sigma2)) / n**2
        np.testing.assert_allclose(est["estimate"].to_numpy(), [att, ate], rtol=1e-10)
        np.testing.assert_allclose(est["std_error"].to_numpy(), np.sqrt([v_att, v_ate]), rtol=1e-10)
        np.testing.assert_allclose(res.frequency_weights(), 1 + w, rtol=1e-10)
        np.testing.assert_allclose(res.frequency_weights("att"), np.where(treated, 1.0, n1 / n0), rtol=1e-10)
    exact = match_on_score(score, t, n_neighbors=2, ties=False)
    first_match = exact.order_control[exact.match_lo[treated]]
    assert (exact.n_valid == 2).all() and (score[first_match] == score[treated]).all()


def test_caliper_drops_exactly_the_expected_units():
    # Reference: by hand. Scores 0..3 (treated) and 0.1, 10 (controls); SD of all six scores (ddof=1) is computed
    # below; with caliper 0.2 SD (about 0.75) treated 2 and 3 and control 10 have nothing within reach.
    score = np.array([0.0, 0.5, 2.0, 3.0, 0.1, 10.0])
    t = np.array([1, 1, 1, 1, 0, 0])
    sd = np.std(score, ddof=1)
    res = match_on_score(score, t, caliper=0.2)
    assert res.caliper_width == pytest.approx(0.2 * sd, rel=1e-14)
    assert res.matched.tolist() == [True, True, False, False, True, False]
    assert [res.matched_units(i).tolist() for i in range(6)] == [[4], [4], [], [], [0], []]
    assert (res.match_lo == res.match_hi).tolist() == [False, False, True, True, False, True]
    assert np.isnan(res.max_distance[[2, 3, 5]]).all() and res.max_distance[0] == 0.1
    assert (res.n_treated_matched, res.n_treated_unmatched, res.n_control_matched, res.n_control_unmatched) \
        == (2, 2, 1, 1)
    assert res.counts().loc["treated", "unmatched"] == 2
    assert res.times_used_att.tolist() == [0, 0, 0, 0, 2, 0]
    y = np.array([1.0, 2.0, 50.0, 60.0, 0.5, -40.0])
    est = matching_estimates(y, t, res)
    # Dropped units (y = 50, 60, -40) must not affect the estimates: ATT = mean(1 - 0.5, 2 - 0.5);
    # ATE over units 0, 1, 4: (0.5 + 1.5 + (1.0 - 0.5)) / 3 (control 0.1 matches treated 0.0).
    np.testing.assert_allclose(est.loc["matching_att", "estimate"], 1.0, atol=1e-12)
    np.testing.assert_allclose(est.loc["matching_ate", "estimate"], 2.5 / 3, atol=1e-12)
    assert est.loc["matching_att", "n_unmatched"] == 2 and est.loc["matching_ate", "n_unmatched"] == 3


def test_caliper_keeps_a_match_exactly_at_the_limit_and_truncates_extra_neighbours():
    # Reference: by hand. Scores 0, 0, 0, 2 have mean 0.5 and SD (ddof=1) exactly 1, so caliper 2 is a width of
    # exactly 2.0 on the score: the distance-2 matches are kept (strict "farther than"), and dropped at 1.999,
    # which leaves the treated units one of their M = 2 matches and control 3 none.
    score = np.array([0.0, 0.0, 0.0, 2.0])
    t = np.array([1, 1, 0, 0])
    assert np.std(score, ddof=1) == 1.0
    for ties in (True, False):
        kept = match_on_score(score, t, caliper=2.0, n_neighbors=2, ties=ties)
        assert [kept.matched_units(i).tolist() for i in range(4)] == [[2, 3], [2, 3], [0, 1], [0, 1]]
        assert kept.matched.all()
    cut = match_on_score(score, t, caliper=1.999, n_neighbors=2)
    assert [cut.matched_units(i).tolist() for i in range(4)] == [[2], [2], [0, 1], []]
    assert cut.n_valid.tolist() == [1, 1, 2, 0]
    assert cut.matched.tolist() == [True, True, True, False]
    assert cut.times_used_att.tolist() == [0, 0, 2, 0] and cut.times_used_ate.tolist() == [1, 1, 2, 0]


def test_truncated_matches_weigh_one_over_their_number():
    # Reference: explicit loop over the documented generalisation for M_j < M matches: each match of unit j weighs
    # 1/M_j, and the K/M terms become w_i = sum 1/M_j and q_i = sum 1/M_j**2 (ATE factor w**2 + 2w - q, ATT factor
    # w**2 - q), which equal the Theorem 7 terms when all M_j = M.
    score = np.array([0.0, 0.3, 1.0, 1.7, 0.1, 0.55, 1.2, 3.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    y = np.array([1.0, 2.5, 2.0, 4.0, 0.2, 1.1, 0.7, 2.0])
    res = match_on_score(score, t, caliper=0.4 / np.std(score, ddof=1), n_neighbors=2)
    assert (res.n_valid == 1).any() and (res.n_valid == 2).any()
    n = len(y)
    rows = [i for i in range(n) if res.matched[i]]
    mats = {i: res.matched_units(i).tolist() for i in rows}
    # No distance is within 0.05 of the caliper width 0.4, so rounding cannot move a unit across it.
    width = res.caliper_width
    for i in rows:
        close = sorted((j for j in range(n) if t[j] != t[i] and abs(score[j] - score[i]) <= width),
                       key=lambda j: abs(score[j] - score[i]))[:2]
        assert mats[i] == sorted(close)
    # the loop reference of the tied tests, on these truncated match sets (its sigma2 does not use the package)
    ref = _loop_estimates(score, t, y, [mats.get(i, []) for i in range(n)])
    att, ate, v_att, v_ate = ref["att"], ref["ate"], ref["se_att"] ** 2, ref["se_ate"] ** 2
    est = matching_estimates(y, t, res)
    np.testing.assert_allclose(est["estimate"].to_numpy(), [att, ate], rtol=0, atol=1e-12)
    np.testing.assert_allclose(est["std_error"].to_numpy(), np.sqrt([v_att, v_ate]), rtol=0, atol=1e-12)


def test_all_unmatched_gives_nan_rows():
    # Reference: documented behaviour; no treated unit within a tiny caliper means nothing to estimate.
    score = np.array([0.0, 1.0, 5.0, 6.0])
    t = np.array([1, 1, 0, 0])
    est = matching_estimates(np.arange(4.0), t, match_on_score(score, t, caliper=0.01))
    assert est[["estimate", "std_error", "p_value"]].isna().all().all()
    assert est["n_matched"].tolist() == [0, 0] and est["n_unmatched"].tolist() == [2, 4]


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_simulation_recovers_att_and_ate_and_ai_standard_errors():
    # Reference: a DGP with known truth. X ~ N(0, 1), P(T = 1 | X) = expit(0.3 + 0.7 X), Y(0) = -0.5 X + N(0, 1),
    # Y(1) = Y(0) + 1 + X. ATE = 1; ATT = 1 + E[X e(X)] / E[e(X)] = 1.2731 (Gauss-Hermite, 80 nodes).
    # Means are checked within 4 Monte Carlo SEs; the mean AI SE within 20% of the Monte Carlo SD of the estimates.
    # The outcome slopes are kept small (|0.5|) because simple matching has an O(1/n) conditional bias
    # proportional to them: with slopes 0.5/1.5 and expit(0.3 + X) the ATE bias at n = 500 is about 2 MCSEs of a
    # 200-replicate study (checked with 4000 replicates); here it is about 0.2.
    nodes, wts = np.polynomial.hermite_e.hermegauss(80)
    wts = wts / wts.sum()
    e = _expit(0.3 + 0.7 * nodes)
    att_true = 1 + np.sum(wts * nodes * e) / np.sum(wts * e)
    ate_true = 1.0
    rng = np.random.default_rng(20240611)
    n, reps = 500, 200
    est = np.empty((reps, 2))
    se = np.empty((reps, 2))
    for r in range(reps):
        x = rng.normal(size=n)
        logit = 0.3 + 0.7 * x
        t = (rng.random(n) < _expit(logit)).astype(int)
        y = -0.5 * x + rng.normal(size=n) + t * (1 + x)
        out = matching_estimates(y, t, match_on_score(logit, t))
        est[r] = out["estimate"].to_numpy()
        se[r] = out["std_error"].to_numpy()
    mc_sd = est.std(axis=0, ddof=1)
    mcse = mc_sd / np.sqrt(reps)
    truth = np.array([att_true, ate_true])
    assert att_true == pytest.approx(1.2731, abs=1e-4)
    assert np.all(np.abs(est.mean(axis=0) - truth) < 4 * mcse), (est.mean(axis=0), truth, mcse)
    np.testing.assert_allclose(se.mean(axis=0), mc_sd, rtol=0.20)


def test_matches_are_frozen_and_read_only():
    res = match_on_score(SCORE, T)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.caliper = 1.0
    for name in ("order_treated", "order_control", "match_lo", "match_hi", "matched", "n_valid", "max_distance",
                 "times_used_att", "times_used_ate", "same_arm_neighbor", "treatment"):
        with pytest.raises(ValueError):
            getattr(res, name)[0] = 0
    assert isinstance(res, Matches) and "n=8" in repr(res) and "ties=True" in repr(res)
    # matched_units and frequency_weights hand out fresh, writable copies.
    res.matched_units(0)[0] = 99
    res.frequency_weights()[0] = 99.0
    assert res.matched_units(0).tolist() == [5] and res.frequency_weights()[0] == 2.0


def test_accepts_boolean_treatment_and_lists():
    a = match_on_score(list(SCORE), T.astype(bool))
    b = match_on_score(SCORE, T)
    assert np.array_equal(a.match_lo, b.match_lo) and np.array_equal(a.match_hi, b.match_hi)
    assert match_on_score(SCORE, T, ties=np.bool_(False)).ties is False


def test_large_n_matches_a_kd_tree_reference():
    # Correctness at large n (speed goals live in benchmarks/bench_scale.py, not here). Reference: scikit-learn's
    # KD-tree NearestNeighbors (independent of the package's sorted-range search) finds, for 10**5 units with
    # continuous scores (no ties), each unit's M = 2 nearest opposite-arm units and its nearest same-arm unit; the
    # caliper (0.1 SD, ddof = 1) then drops farther matches. From those sets, the ATT, ATE and Abadie-Imbens variances
    # are computed vectorised from the formulas of _loop_estimates (each member of J(i) weighs 1/#J(i)); all to 1e-10.
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    n, m = 100_000, 2
    x = rng.normal(size=n)
    t = (rng.random(n) < _expit(x)).astype(int)
    y = x + t * (1 + 0.5 * x) + rng.normal(size=n)
    res = match_on_score(x, t, n_neighbors=m, caliper=0.1)
    width = 0.1 * np.std(x, ddof=1)
    assert res.caliper_width == pytest.approx(width, rel=1e-14)

    members = np.full((n, m), -1)                   # J(i), -1 where a neighbour is beyond the caliper
    same = np.empty(n, dtype=int)                   # nearest other unit of the same arm
    for arm in (0, 1):
        own, other = np.flatnonzero(t == arm), np.flatnonzero(t != arm)
        dist, idx = NearestNeighbors(n_neighbors=m).fit(x[other, None]).kneighbors(x[own, None])
        assert np.all(np.abs(dist - width) > 1e-9)  # no distance is near the caliper: rounding cannot matter
        members[own] = np.where(dist <= width, other[idx], -1)
        idx_same = NearestNeighbors(n_neighbors=2).fit(x[own, None]).kneighbors(x[own, None])[1]
        assert (idx_same[:, 0] == np.arange(len(own))).all()  # no duplicate scores: the first neighbour is itself
        same[own] = own[idx_same[:, 1]]
    size = (members >= 0).sum(axis=1)
    np.testing.assert_array_equal(res.n_valid, size)
    np.testing.assert_array_equal(res.matched, size > 0)
    assert set(np.unique(size)) == {0, 1, 2}
    np.testing.assert_array_equal(res.same_arm_neighbor, same)
    for i in rng.choice(n, size=2000, replace=False):  # the match sets themselves, on a random subsample
        assert sorted(res.matched_units(i).tolist()) == sorted(members[i][members[i] >= 0].tolist()), i

    rows = np.flatnonzero(size > 0)
    treated_rows = rows[t[rows] == 1]
    i_idx = np.repeat(rows, size[rows])
    j_idx = members[rows][members[rows] >= 0]  # row-major, so aligned with i_idx
    share = 1.0 / size[i_idx]
    yhat = np.bincount(i_idx, weights=share * y[j_idx], minlength=n)
    diff = np.where(t == 1, y - yhat, yhat - y)
    ate, att = diff[rows].mean(), diff[treated_rows].mean()
    w_ate = np.bincount(j_idx, weights=share, minlength=n)
    q_ate = np.bincount(j_idx, weights=share**2, minlength=n)
    from_treated = t[i_idx] == 1
    w_att = np.bincount(j_idx[from_treated], weights=share[from_treated], minlength=n)
    q_att = np.bincount(j_idx[from_treated], weights=share[from_treated] ** 2, minlength=n)
    sigma2 = (y - y[same]) ** 2 / 2
    v_ate = np.sum((diff[rows] - ate) ** 2 + ((w_ate**2 + 2 * w_ate - q_ate) * sigma2)[rows]) / len(rows) ** 2
    v_att = (np.sum((diff[treated_rows] - att) ** 2) + np.sum(((w_att**2 - q_att) * sigma2)[t == 0])) \
        / len(treated_rows) ** 2
    np.testing.assert_array_equal(res.times_used_ate, np.bincount(j_idx, minlength=n))
    np.testing.assert_array_equal(res.times_used_att, np.bincount(j_idx[from_treated], minlength=n))
    est = matching_estimates(y, t, res)
    np.testing.assert_allclose(est["estimate"].to_numpy(), [att, ate], rtol=1e-10)
    np.testing.assert_allclose(est["std_error"].to_numpy(), np.sqrt([v_att, v_ate]), rtol=1e-10)
    assert est["n_matched"].tolist() == [len(treated_rows), len(rows)]


@pytest.mark.parametrize("kwargs, parameter, match", [
    (dict(caliper=0), "caliper", "caliper"),
    (dict(caliper=-1.0), "caliper", "caliper"),
    (dict(caliper=np.nan), "caliper", "caliper"),
    (dict(n_neighbors=0), "n_neighbors", "n_neighbors"),
    (dict(n_neighbors=1.5), "n_neighbors", "n_neighbors"),
    (dict(n_neighbors=4), "n_neighbors", "smaller arm"),
    (dict(ties="yes"), "ties", "True or False"),
    (dict(ties=1), "ties", "True or False"),
])
def test_bad_options_name_the_parameter(kwargs, parameter, match):
    with pytest.raises(ParameterError, match=match) as err:
        match_on_score(SCORE, T, **kwargs)
    assert err.value.parameter == parameter


@pytest.mark.parametrize("score, t, parameter, match", [
    (SCORE[:-1], T, "t", "one entry per unit"),
    (SCORE.reshape(2, 4), T, "score", "1-D"),
    (np.r_[SCORE[:-1], np.nan], T, "score", "finite"),
    (["a"] * 8, T, "score", "numbers"),
    (SCORE, np.r_[T[:-1], 2], "t", "found 2"),
    (SCORE, np.array(["a"] * 8), "t", "0/1"),
    (SCORE, np.ones(8, dtype=int), "t", "no control"),
    (SCORE, np.zeros(8, dtype=int), "t", "no treated"),
])
def test_bad_inputs_name_the_parameter(score, t, parameter, match):
    with pytest.raises(ParameterError, match=match) as err:
        match_on_score(score, t)
    assert err.value.parameter == parameter


def test_matching_estimates_validation():
    res = match_on_score(SCORE, T)
    cases = [
        (lambda: matching_estimates(Y[:-1], T, res), "y"),
        (lambda: matching_estimates(np.r_[Y[:-1], np.inf], T, res), "y"),
        (lambda: matching_estimates(Y, 1 - T, res), "t"),
        (lambda: matching_estimates(Y, T, "matches"), "matches"),
        (lambda: matching_estimates(Y, T, res, alpha=1.5), "alpha"),
    ]
    for call, parameter in cases:
        with pytest.raises(ParameterError) as err:
            call()
        assert err.value.parameter == parameter
    single = match_on_score([0.0, 1.0, 2.0], [1, 0, 0])
    with pytest.raises(ParameterError, match="single unit") as err:
        matching_estimates([1.0, 2.0, 3.0], [1, 0, 0], single)
    assert err.value.parameter == "t"


def test_matches_methods_validate_their_arguments():
    res = match_on_score(SCORE, T)
    for bad in (-1, 8, 1.0, True, "0"):
        with pytest.raises(ParameterError, match="unit position") as err:
            res.matched_units(bad)
        assert err.value.parameter == "i"
    assert res.matched_units(np.int64(5)).tolist() == [0]
    with pytest.raises(ParameterError, match="'ate', 'att'") as err:
        res.frequency_weights("atc")
    assert err.value.parameter == "kind"


def test_docstring_examples_run():
    result = doctest.testmod(matching, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
