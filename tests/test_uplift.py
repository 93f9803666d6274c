"""Tests of mediationhte.cate.uplift: top-k slices, uplift/Qini curves and their areas."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mediationhte.errors import ParameterError
from mediationhte.cate.uplift import CURVE_POINTS, SLICE_COLUMNS, SUMMARY_COLUMNS, UpliftResults, uplift

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOL = 1e-12

# The hand example: 8 units, learner "good" ranks them in position order (no ties).
Y8 = np.array([3.0, 1.0, 2.0, 0.0, 1.0, 1.0, 0.0, 2.0])
T8 = np.array([1, 0, 1, 0, 1, 0, 1, 0])
GOOD = [4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0]


# --------------------------------------------------------------------------- independent reference
def reference_points(tau, y, t):
    """Curve points (k, U, Q) by an explicit loop over the ranked units, at k=0 and at each tie-block end.

    Written from the definitions in the brief / sklift docs (running sums, no numpy), so it shares no code with
    the module.
    """
    n = len(y)
    order = sorted(range(n), key=lambda i: -tau[i])  # Python's sort is stable: ties keep their positions
    points = [(0, 0.0, 0.0)]
    n_t = n_c = 0
    y_t = y_c = 0.0
    for pos, i in enumerate(order):
        if t[i] == 1:
            n_t += 1
            y_t += y[i]
        else:
            n_c += 1
            y_c += y[i]
        k = pos + 1
        if k == n or tau[order[pos + 1]] != tau[i]:
            mean_t = y_t / n_t if n_t else 0.0
            mean_c = y_c / n_c if n_c else 0.0
            points.append((k, (mean_t - mean_c) * k, y_t - (y_c * n_t / n_c if n_c else 0.0)))
    return points


def reference_areas(points, n):
    """(area under U, area under Q) by the trapezoid rule over x = k/n, and the curve ends U(n), Q(n)."""
    a_u = a_q = 0.0
    for (k0, u0, q0), (k1, u1, q1) in zip(points, points[1:]):
        a_u += (k1 - k0) / n * (u0 + u1) / 2
        a_q += (k1 - k0) / n * (q0 + q1) / 2
    return a_u, a_q, points[-1][1], points[-1][2]


def reference_at(points, k):
    """Linear interpolation of the reference curves at integer k (between tie-block ends)."""
    for (k0, u0, q0), (k1, u1, q1) in zip(points, points[1:]):
        if k0 <= k <= k1:
            w = (k - k0) / (k1 - k0)
            return u0 + w * (u1 - u0), q0 + w * (q1 - q0)
    raise AssertionError(k)


def reference_slice(tau, y, t, f):
    n = len(y)
    k = min(n, max(1, math.ceil(round(f * n, 9))))
    top = sorted(range(n), key=lambda i: -tau[i])[:k]
    yt = [y[i] for i in top if t[i] == 1]
    yc = [y[i] for i in top if t[i] == 0]
    mt = sum(yt) / len(yt) if yt else math.nan
    mc = sum(yc) / len(yc) if yc else math.nan
    return [k, len(yt), len(yt) / k, mt, mc, mt - mc, sum(tau[i] for i in top) / k]


def reference_normalized(tau, y, t):
    """sklift's uplift_auc_score / qini_auc_score (negative_effect=True), rewritten with the loop reference."""
    n = len(y)
    cr = sum(1 for a, b in zip(y, t) if a == 1 and b == 0)
    tn = sum(1 for a, b in zip(y, t) if a == 0 and b == 1)
    perfect_u = [2 * (a == b) + (a if cr > tn else b) for a, b in zip(y, t)]
    perfect_q = [a * b - a * (1 - b) for a, b in zip(y, t)]
    au, aq, un, qn = reference_areas(reference_points(tau, y, t), n)
    pu = reference_areas(reference_points(perfect_u, y, t), n)[0]
    pq = reference_areas(reference_points(perfect_q, y, t), n)[1]
    return (au - un / 2) / (pu - un / 2), (aq - qn / 2) / (pq - qn / 2)


def simulate(rng, n, binary=False):
    """Randomised design with strong heterogeneity: tau(x) = 2x, X ~ N(0, 1), P(T = 1) = 1/2."""
    x = rng.normal(size=n)
    tau = 2.0 * x
    t = rng.integers(0, 2, size=n)
    if binary:
        p = 1.0 / (1.0 + np.exp(-(0.3 * x + t * tau)))
        y = (rng.uniform(size=n) < p).astype(float)
    else:
        y = 0.5 * x + t * tau + rng.normal(size=n)
    return tau, y, t


# --------------------------------------------------------------------------- hand example
def test_hand_example_curves_and_areas():
    res = uplift(pd.DataFrame({"good": GOOD}), Y8, T8)
    # By hand from (N_T, Y_T, N_C, Y_C) over the top k = 1..8 of units in position order:
    # k=1 (1,3,0,0) k=2 (1,3,1,1) k=3 (2,5,1,1) k=4 (2,5,2,1) k=5 (3,6,2,1) k=6 (3,6,3,2) k=7 (4,6,3,2) k=8 (4,6,4,4)
    # U = (Y_T/N_T - Y_C/N_C) k, an empty arm's mean taken as 0; Q = Y_T - Y_C N_T/N_C.
    u = [0, 3, 4, 4.5, 8, 7.5, 8, 35 / 6, 4]
    q = [0, 3, 2, 3, 4, 4.5, 4, 10 / 3, 2]
    c = res.curves
    np.testing.assert_array_equal(c["n_targeted"], np.arange(9))
    np.testing.assert_allclose(c["fraction_targeted"], np.arange(9) / 8, rtol=0, atol=TOL)
    np.testing.assert_allclose(c["uplift"], u, rtol=0, atol=TOL)
    np.testing.assert_allclose(c["qini"], q, rtol=0, atol=TOL)
    # Trapezoid with dx = 1/8: sum of the interior points plus half of the end point, times 1/8.
    auuc = (3 + 4 + 4.5 + 8 + 7.5 + 8 + 35 / 6 + 4 / 2) / 8       # = 5.3541666...
    area_q = (3 + 2 + 3 + 4 + 4.5 + 4 + 10 / 3 + 2 / 2) / 8       # = 3.1041666...
    row = res.summary_frame().loc["good"]
    assert row["auuc"] == pytest.approx(auuc, abs=TOL)
    assert row["auuc_above_random"] == pytest.approx(auuc - 4 / 2, abs=TOL)     # random line to (1, U(8) = 4)
    assert row["qini_coefficient"] == pytest.approx(area_q - 2 / 2, abs=TOL)    # random line to (1, Q(8) = 2)
    assert res.auuc["good"] == pytest.approx(auuc, abs=TOL)
    assert res.qini_coefficient["good"] == pytest.approx(area_q - 1, abs=TOL)
    # y is not 0/1, so sklift's perfect ranking is undefined and the normalised scores are NaN.
    assert math.isnan(row["auuc_normalized"]) and math.isnan(row["qini_normalized"])
    assert not res.binary_outcome


def test_hand_example_slices():
    res = uplift(pd.DataFrame({"good": GOOD}), Y8, T8, fractions=(0.125, 0.3, 0.5, 1.0))
    s = res.slices
    assert s.index.names == ["learner", "fraction"]
    assert list(s.columns) == list(SLICE_COLUMNS)
    # By hand: top 1 = unit 0 (treated, y=3): no control, so control_mean and difference are NaN.
    r = s.loc[("good", 0.125)]
    assert (r["n"], r["n_treated"], r["treated_share"], r["treated_mean"]) == (1, 1, 1.0, 3.0)
    assert math.isnan(r["control_mean"]) and math.isnan(r["difference"])
    assert r["mean_tau_hat"] == pytest.approx(4.0, abs=TOL)
    # ceil(0.3 * 8) = 3: units 0, 1, 2 -> treated y 3, 2 (mean 2.5), control y 1; tau_hat mean (4+3+2)/3 = 3.
    expected = {0.3: [3, 2, 2 / 3, 2.5, 1.0, 1.5, 3.0],
                # units 0..3 -> treated 3, 2; control 1, 0; tau_hat mean 2.5
                0.5: [4, 2, 0.5, 2.5, 0.5, 2.0, 2.5],
                # everyone: treated 3, 2, 1, 0 (1.5); control 1, 0, 1, 2 (1.0); tau_hat mean 4/8
                1.0: [8, 4, 0.5, 1.5, 1.0, 0.5, 0.5]}
    for f, values in expected.items():
        np.testing.assert_allclose(s.loc[("good", f)].to_numpy(dtype=float), values, rtol=0, atol=TOL)
    assert s["n"].dtype == np.int64 and s["n_treated"].dtype == np.int64


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_matches_loop_reference_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    t = rng.integers(0, 2, size=n)
    t[:2] = [0, 1]
    binary = seed % 2 == 0
    y = rng.integers(0, 2, size=n).astype(float) if binary else rng.normal(size=n).round(2)
    effects = pd.DataFrame({"tied": rng.integers(-2, 3, size=n).astype(float),  # many ties
                            "smooth": rng.normal(size=n),
                            "flat": np.full(n, 0.7)})
    fractions = (0.1, 0.25, 0.5, 0.9, 1.0)
    res = uplift(effects, y, t, fractions=fractions)
    frame = res.summary_frame()
    for name in effects:
        tau = effects[name].tolist()
        pts = reference_points(tau, y.tolist(), t.tolist())
        a_u, a_q, u_n, q_n = reference_areas(pts, n)
        assert frame.loc[name, "auuc"] == pytest.approx(a_u, abs=TOL)
        assert frame.loc[name, "auuc_above_random"] == pytest.approx(a_u - u_n / 2, abs=TOL)
        assert frame.loc[name, "qini_coefficient"] == pytest.approx(a_q - q_n / 2, abs=TOL)
        if binary:
            nu, nq = reference_normalized(tau, y.tolist(), t.tolist())
            assert frame.loc[name, "auuc_normalized"] == pytest.approx(nu, abs=TOL)
            assert frame.loc[name, "qini_normalized"] == pytest.approx(nq, abs=TOL)
        else:
            assert frame.loc[name, ["auuc_normalized", "qini_normalized"]].isna().all()
        c = res.curves[res.curves["learner"] == name]
        ref = np.array([reference_at(pts, k) for k in range(n + 1)])
        np.testing.assert_allclose(c[["uplift", "qini"]].to_numpy(), ref, rtol=0, atol=TOL)
        for f in fractions:
            want = reference_slice(tau, y.tolist(), t.tolist(), f)
            got = res.slices.loc[(name, f)].to_numpy(dtype=float)
            np.testing.assert_allclose(got, want, rtol=0, atol=TOL, equal_nan=True)


def test_sklift_reference_values():
    # Expected values from scikit-uplift's own test suite (sklift/tests/test_metrics.py:
    # test_uplift_auc_score, test_qini_auc_score, test_perfect_uplift_curve, test_perfect_qini_curve).
    tau = pd.DataFrame({"m": [0.1, 0.3]})
    res = uplift(tau, np.array([0.0, 1.0]), np.array([1, 0]))
    assert res.summary_frame().loc["m", "auuc_normalized"] == pytest.approx(0.0, abs=TOL)
    assert res.summary_frame().loc["m", "qini_normalized"] == pytest.approx(1.0, abs=TOL)
    res = uplift(tau, np.array([1.0, 0.0]), np.array([0, 1]))
    assert res.summary_frame().loc["m", "auuc_normalized"] == pytest.approx(1.0, abs=TOL)
    assert res.summary_frame().loc["m", "qini_normalized"] == pytest.approx(1.0, abs=TOL)
    # sklift's perfect curves for y = (0, 1, 0), t = (0, 1, 1): uplift x (0, 1, 2, 3), U (0, 1, 2, 1.5);
    # Qini x (0, 1, 3), Q (0, 1, 1). Fed here as scores: sklift's perfect scores for these data are
    # 2*(y == t) + t = (2, 3, 1) (more treated non-responders than control responders) and y*t - y*(1-t) = (0, 1, 0).
    y, t = np.array([0.0, 1.0, 0.0]), np.array([0, 1, 1])
    res = uplift(pd.DataFrame({"pu": [2.0, 3.0, 1.0], "pq": [0.0, 1.0, 0.0]}), y, t)
    c = res.curves
    np.testing.assert_allclose(c.loc[c["learner"] == "pu", "uplift"], [0, 1, 2, 1.5], rtol=0, atol=TOL)
    # Our curves frame has every k; sklift's point (3, 1) after (1, 1) means Q(2) = 1 on the straight segment.
    np.testing.assert_allclose(c.loc[c["learner"] == "pq", "qini"], [0, 1, 1, 1], rtol=0, atol=TOL)
    frame = res.summary_frame()
    assert frame.loc["pu", "auuc_normalized"] == pytest.approx(1.0, abs=TOL)
    assert frame.loc["pq", "qini_normalized"] == pytest.approx(1.0, abs=TOL)


def test_perfect_ranking_has_normalized_score_one():
    rng = np.random.default_rng(11)
    _, y, t = simulate(rng, 300, binary=True)
    cr, tn = np.sum((y == 1) & (t == 0)), np.sum((y == 0) & (t == 1))
    # sklift's perfect_uplift_curve / perfect_qini_curve scores, passed as tau_hat.
    pu = 2.0 * (y == t) + (y if cr > tn else t)
    pq = y * t - y * (1 - t)
    res = uplift(pd.DataFrame({"pu": pu, "pq": pq}), y, t)
    frame = res.summary_frame()
    assert res.binary_outcome
    assert frame.loc["pu", "auuc_normalized"] == pytest.approx(1.0, abs=TOL)
    assert frame.loc["pq", "qini_normalized"] == pytest.approx(1.0, abs=TOL)


# --------------------------------------------------------------------------- behaviour
def test_oracle_beats_random_and_reversed():
    rng = np.random.default_rng(2024)
    n = 4000
    tau, y, t = simulate(rng, n)
    effects = pd.DataFrame({"oracle": tau, "random": rng.normal(size=n), "reversed": -tau})
    frame = uplift(effects, y, t).summary_frame()
    for col in ("auuc", "auuc_above_random", "qini_coefficient"):
        assert frame.loc["oracle", col] > frame.loc["random", col] > frame.loc["reversed", col], col
    # Population values for tau = 2X, X ~ N(0, 1), P(T=1) = 1/2, ATE = 0 (derived by hand): ranking by tau, the
    # top share p has mean effect 2 phi(z_p)/p with z_p = Phi^{-1}(1 - p), so Q(pn) ~ n phi(z_p), U(pn) ~ 2n phi(z_p);
    # integrating over p gives n * E[phi(X)] = n / (2 sqrt(pi)) for the Qini and twice that for the uplift curve.
    # 10% tolerance: Monte Carlo error at n = 4000 is a few percent.
    assert frame.loc["oracle", "qini_coefficient"] / n == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=0.1)
    assert frame.loc["oracle", "auuc_above_random"] / n == pytest.approx(1 / math.sqrt(math.pi), rel=0.1)
    assert frame.loc["reversed", "qini_coefficient"] / n == pytest.approx(-1 / (2 * math.sqrt(math.pi)), rel=0.1)
    assert abs(frame.loc["random", "qini_coefficient"]) / n < 0.05


def test_oracle_binary_normalized_scores():
    rng = np.random.default_rng(7)
    n = 4000
    tau, y, t = simulate(rng, n, binary=True)
    frame = uplift(pd.DataFrame({"oracle": tau, "random": rng.normal(size=n), "reversed": -tau}), y, t)
    frame = frame.summary_frame()
    for col in ("auuc_normalized", "qini_normalized"):
        assert 0.05 < frame.loc["oracle", col] < 1.0, col
        assert abs(frame.loc["random", col]) < 0.05, col
        assert frame.loc["reversed", col] < -0.05, col


def test_constant_tau_gives_random_line():
    rng = np.random.default_rng(5)
    tau, y, t = simulate(rng, 500)
    res = uplift(pd.DataFrame({"const": np.full(500, 1.25), "zero": np.zeros(500)}), y, t)
    frame = res.summary_frame()
    # One tie block: the curve is the straight line from (0, 0) to the end point, whatever the unit order.
    np.testing.assert_allclose(frame["auuc_above_random"], 0.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(frame["qini_coefficient"], 0.0, rtol=0, atol=1e-9)
    for name in ("const", "zero"):
        c = res.curves[res.curves["learner"] == name]
        np.testing.assert_allclose(c["qini"], c["fraction_targeted"] * c["qini"].iloc[-1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(c["uplift"], c["fraction_targeted"] * c["uplift"].iloc[-1], rtol=0, atol=1e-9)


def test_areas_do_not_depend_on_tie_order():
    rng = np.random.default_rng(9)
    n = 200
    _, y, t = simulate(rng, n)
    effects = pd.DataFrame({"coarse": rng.integers(0, 4, size=n).astype(float), "fine": rng.normal(size=n)})
    perm = rng.permutation(n)
    a = uplift(effects, y, t).summary_frame()
    b = uplift(effects.iloc[perm], y[perm], t[perm]).summary_frame()
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-9)


def test_index_is_not_used_for_alignment():
    labelled = pd.DataFrame({"good": GOOD}, index=list("hgfedcba"))
    a, b = uplift(labelled, Y8, T8), uplift(pd.DataFrame({"good": GOOD}), Y8, T8)
    pd.testing.assert_frame_equal(a.slices, b.slices)
    pd.testing.assert_frame_equal(a.summary_frame(), b.summary_frame())


def test_curves_are_thinned_for_large_n_but_areas_use_full_curve():
    rng = np.random.default_rng(3)
    n = 5000
    tau, y, t = simulate(rng, n)
    effects = pd.DataFrame({"noisy": tau + rng.normal(size=n)})
    res = uplift(effects, y, t)
    c = res.curves
    assert len(c) == CURVE_POINTS + 1
    assert c["n_targeted"].iloc[0] == 0 and c["n_targeted"].iloc[-1] == n
    assert c["uplift"].iloc[0] == 0.0 and c["qini"].iloc[0] == 0.0
    assert c["n_targeted"].is_monotonic_increasing
    pts = reference_points(effects["noisy"].tolist(), y.tolist(), t.tolist())
    a_u, a_q, u_n, q_n = reference_areas(pts, n)
    # Loose enough for the different summation order over 5000 terms, far below any thinning error.
    assert res.auuc["noisy"] == pytest.approx(a_u, rel=1e-10)
    assert res.qini_coefficient["noisy"] == pytest.approx(a_q - q_n / 2, rel=1e-10)
    # Without ties every stored point is an exact curve point (k = 0, 5, 10, ..., 5000).
    ks = c["n_targeted"].to_numpy()
    np.testing.assert_array_equal(ks, np.arange(0, n + 1, 5))
    ref = np.array([pts[k][1:] for k in ks])
    np.testing.assert_allclose(c[["uplift", "qini"]].to_numpy(), ref, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("f, n, k", [(0.3, 10, 3), (0.1, 10, 1), (0.01, 10, 1), (0.35, 10, 4), (1.0, 7, 7),
                                     (0.7, 10, 7)])
def test_slice_size_is_ceil_without_float_noise(f, n, k):
    # 0.3 * 10 == 3.0000000000000004 and 0.7 * 10 == 7.000000000000001 in floating point; the slices use 3 and 7.
    t = np.arange(n) % 2
    res = uplift(pd.DataFrame({"s": -np.arange(n, dtype=float)}), np.ones(n), t, fractions=(f,))
    assert res.slices.loc[("s", f), "n"] == k


def test_single_fraction_number_is_accepted():
    res = uplift(pd.DataFrame({"good": GOOD}), Y8, T8, fractions=0.5)
    assert res.fractions == (0.5,)
    assert list(res.slices.index) == [("good", 0.5)]


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("fractions", [(0.0,), (0.1, 1.5), (-0.2,), (float("nan"),), (), ("abc",), "x", None,
                                       (0.2, 0.2), (True,), 0])
def test_bad_fractions_raise(fractions):
    with pytest.raises(ParameterError, match="fractions") as err:
        uplift(pd.DataFrame({"good": GOOD}), Y8, T8, fractions=fractions)
    assert err.value.parameter == "fractions"
    assert isinstance(err.value, ValueError)


def test_fraction_message_says_what_was_found():
    with pytest.raises(ParameterError, match=r"found 1\.5 .*e\.g\. fractions=\(0\.1, 0\.2, 0\.3\)"):
        uplift(pd.DataFrame({"good": GOOD}), Y8, T8, fractions=(0.1, 1.5))


@pytest.mark.parametrize("effects, y, t, parameter, match", [
    (np.array(GOOD), Y8, T8, "effects", "DataFrame"),
    (pd.DataFrame(index=range(8)), Y8, T8, "effects", "no columns"),
    (pd.DataFrame({"good": GOOD, "name": list("abcdefgh")}), Y8, T8, "effects", "non-numeric: name"),
    (pd.DataFrame({"flag": [True, False] * 4}), Y8, T8, "effects", "non-numeric: flag"),
    (pd.DataFrame({"good": GOOD, "bad": [np.nan] + GOOD[1:]}), Y8, T8, "effects", "column.* bad"),
    (pd.DataFrame([GOOD, GOOD]).T.set_axis(["a", "a"], axis=1), Y8, T8, "effects", "duplicated"),
    (pd.DataFrame({"good": GOOD}), Y8[:7], T8, "y", "7 values but effects has 8"),
    (pd.DataFrame({"good": GOOD}), np.r_[Y8[:7], np.nan], T8, "y", "finite"),
    (pd.DataFrame({"good": GOOD}), Y8.reshape(4, 2), T8, "y", "1-D"),
    (pd.DataFrame({"good": GOOD}), np.array(list("abcdefgh")), T8, "y", "numeric"),
    (pd.DataFrame({"good": GOOD}), Y8, T8[:7], "t", "7 values"),
    (pd.DataFrame({"good": GOOD}), Y8, np.r_[T8[:7], 2], "t", "0/1.*found other values: 2"),
    (pd.DataFrame({"good": GOOD}), Y8, np.ones(8, dtype=int), "t", "both arms.*8 treated and 0 control"),
    (pd.DataFrame({"good": GOOD}), Y8, np.zeros(8, dtype=int), "t", "both arms"),
])
def test_bad_inputs_name_the_parameter(effects, y, t, parameter, match):
    with pytest.raises(ParameterError, match=match) as err:
        uplift(effects, y, t)
    assert err.value.parameter == parameter
    assert parameter in str(err.value)


def test_plot_kind_is_validated():
    res = uplift(pd.DataFrame({"good": GOOD}), Y8, T8)
    with pytest.raises(ParameterError, match="kind") as err:
        res.plot(kind="gain")
    assert err.value.parameter == "kind"


# --------------------------------------------------------------------------- immutability, text, plot
def test_results_are_immutable():
    res = uplift(pd.DataFrame({"good": GOOD, "flat": np.zeros(8)}), Y8, T8)
    before = res.slices
    s = res.slices
    s.iloc[0, 0] = 999
    s["n"] = -1
    pd.testing.assert_frame_equal(res.slices, before)
    c = res.curves
    c["uplift"] = 0.0
    assert res.curves["uplift"].abs().sum() > 0
    f = res.summary_frame()
    f.loc["good", "auuc"] = -1.0
    assert res.summary_frame().loc["good", "auuc"] > 0
    a = res.auuc
    a["good"] = -1.0
    assert res.auuc["good"] > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.slices = before
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_obs = 3
    assert isinstance(res, UpliftResults)


def test_text_and_markdown_reports():
    res = uplift(pd.DataFrame({"good": GOOD, "flat": np.zeros(8)}), Y8, T8, fractions=(0.25, 0.5))
    text = str(res)
    assert text == repr(res)
    assert text.splitlines()[0] == "Uplift evaluation of tau_hat rankings"
    assert "Units: 8 (treated 4, control 4)" in text
    assert "not unbiased" in text
    for col in (*SUMMARY_COLUMNS, *SLICE_COLUMNS):
        assert col in text
    good_row = next(line for line in text.splitlines() if line.startswith("good ") and "5.354" in line)
    assert "3.354" in good_row and "2.104" in good_row and "NA" in good_row
    md = res.as_markdown()
    assert md.startswith("## Uplift evaluation of tau\\_hat rankings")
    assert "|:----" in md and "auuc\\_normalized" in md


def test_plot_returns_axes():
    res = uplift(pd.DataFrame({"good": GOOD, "flat": np.zeros(8)}), Y8, T8)
    try:
        for kind in ("qini", "uplift"):
            ax = res.plot(kind=kind)
            assert isinstance(ax, matplotlib.axes.Axes)
            labels = [line.get_label() for line in ax.get_lines()]
            assert {"good", "flat", "random"} <= set(labels)
            random_line = next(line for line in ax.get_lines() if line.get_label() == "random")
            end = res.curves.loc[res.curves["learner"] == "good", kind].iloc[-1]
            np.testing.assert_allclose(random_line.get_ydata(), [0.0, end], rtol=0, atol=TOL)
        _, own = plt.subplots()
        assert res.plot(own, kind="uplift") is own
    finally:
        plt.close("all")


def test_docstring_examples_run():
    # import_module, not `from mediationhte import uplift`: once __init__ re-exports the function of the same
    # name, the package attribute is the function, not the module.
    result = doctest.testmod(importlib.import_module("mediationhte.cate.uplift"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
