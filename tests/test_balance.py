"""Tests for mediationhte.cate.balance: standardized mean differences, matched frequency weights, balance tables."""

import dataclasses
import doctest

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mediationhte.cate import balance  # noqa: E402
from mediationhte.cate.balance import (  # noqa: E402
    BalanceResults,
    balance_table,
    frequency_weights_from_matches,
    standardized_mean_differences,
)
from mediationhte.errors import ParameterError  # noqa: E402
from mediationhte.cate.matching import match_on_score  # noqa: E402

RNG = np.random.default_rng(7)
N = 40
T = np.r_[np.ones(15, dtype=int), np.zeros(25, dtype=int)]
X = np.column_stack([RNG.normal(size=N), RNG.integers(0, 2, size=N), RNG.exponential(size=N) * 100])
W = RNG.uniform(0.2, 3.0, size=N)


def _direct_smd(x, t, w):
    # Reference: the formula written out with numpy: weighted means, and np.cov's unbiased weighted variance with
    # aweights (divisor sum w - sum w^2 / sum w), which is the sample variance (ddof = 1) for unit weights.
    out = []
    for col in x.T:
        m1 = np.average(col[t == 1], weights=w[t == 1])
        m0 = np.average(col[t == 0], weights=w[t == 0])
        v1 = float(np.cov(col[t == 1], aweights=w[t == 1]))
        v0 = float(np.cov(col[t == 0], aweights=w[t == 0]))
        out.append((m1 - m0) / np.sqrt((v1 + v0) / 2))
    return np.array(out)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_raw_smd_matches_direct_numpy():
    # Reference: np.mean / np.var(ddof=1) per arm, the documented unweighted formula (sample variances, issue 17).
    expected = [(X[T == 1, j].mean() - X[T == 0, j].mean())
                / np.sqrt((X[T == 1, j].var(ddof=1) + X[T == 0, j].var(ddof=1)) / 2)
                for j in range(X.shape[1])]
    np.testing.assert_allclose(standardized_mean_differences(X, T), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(standardized_mean_differences(X, T, weights=np.ones(N)), expected, rtol=0, atol=1e-12)


def test_weighted_smd_matches_direct_numpy():
    # Reference: _direct_smd (np.average with weights), written independently of the shifted-sum implementation.
    np.testing.assert_allclose(standardized_mean_differences(X, T, weights=W), _direct_smd(X, T, W), rtol=0,
                               atol=1e-12)


def test_dataframe_and_one_dimensional_input():
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    np.testing.assert_array_equal(standardized_mean_differences(frame, T), standardized_mean_differences(X, T))
    assert standardized_mean_differences(X[:, 0], T).shape == (1,)


def test_weights_that_balance_a_binary_covariate_give_zero():
    # Reference: by construction. Treated: 3 of 4 have x = 1 (share 3/4); controls: 1 of 4. Treated weigh 1; the
    # control with x = 1 weighs 3 and the other three 1/3 each, so the weighted control share is 3 / (3 + 1) = 3/4.
    x = np.array([1, 1, 1, 0, 1, 0, 0, 0], dtype=float)
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    w = np.array([1, 1, 1, 1, 3, 1 / 3, 1 / 3, 1 / 3])
    assert np.average(x[t == 0], weights=w[t == 0]) == pytest.approx(0.75, abs=1e-15)
    # unweighted: (3/4 - 1/4) / sqrt((1/4 + 1/4) / 2) with the sample variances 4/3 * 3/16 = 1/4
    assert standardized_mean_differences(x, t)[0] == pytest.approx(1.0, rel=1e-12)
    assert abs(standardized_mean_differences(x, t, weights=w)[0]) < 1e-12


def test_constant_columns_give_zero_without_warnings():
    # Reference: documented behaviour. A column constant at 0.1 in both arms (not exactly representable) has SMD 0,
    # also under irregular weights; a column that separates the arms perfectly is +-inf.
    x = np.column_stack([np.full(N, 0.1), T.astype(float), 1.0 - T])
    out = standardized_mean_differences(x, T, weights=W)
    assert out[0] == 0.0
    assert out[1] == np.inf and out[2] == -np.inf


def test_frequency_weights_from_hand_built_matches():
    # Reference: counted by hand. Treated 0.0, 0.5, 1.0 (units 0-2) and controls 0.25, 1.0, 3.0 (units 3-5), M = 1
    # with ties: control 0.25 is exactly as far from treated 0.0 as from 0.5, so each of them gets 1/2 from it.
    # ATE: unit 0: 1 + 1/2; unit 1: 1 + 1/2; unit 2 is the match of controls 1.0 and 3.0: 1 + 2; unit 3 is the
    # match of treated 0.0 and 0.5: 1 + 2; unit 4 of treated 1.0: 1 + 1; unit 5 of nobody: 1.
    score = np.array([0.0, 0.5, 1.0, 0.25, 1.0, 3.0])
    t = np.array([1, 1, 1, 0, 0, 0])
    res = match_on_score(score, t)
    np.testing.assert_allclose(frequency_weights_from_matches(res), [1.5, 1.5, 3.0, 3.0, 2.0, 1.0], rtol=0,
                               atol=1e-15)
    # ATT: treated 1 each; controls count their uses by treated units only (unit 5 is unused).
    np.testing.assert_allclose(frequency_weights_from_matches(res, kind="att"), [1, 1, 1, 2, 1, 0], rtol=0,
                               atol=1e-15)
    # ties=False: control 0.25 takes only treated 0.0 (the smaller score).
    single = match_on_score(score, t, ties=False)
    np.testing.assert_allclose(frequency_weights_from_matches(single), [2, 1, 3, 3, 2, 1], rtol=0, atol=1e-15)
    # A caliper of 0.5 SD (about 0.54 on the score) leaves control 3.0 unmatched: it weighs 0 and stops counting
    # for treated 1.0 (1 + 1 from control 1.0 only).
    cut = match_on_score(score, t, caliper=0.5)
    np.testing.assert_allclose(frequency_weights_from_matches(cut), [1.5, 1.5, 2.0, 3.0, 2.0, 0.0], rtol=0,
                               atol=1e-15)


@pytest.mark.parametrize("ties", [True, False])
def test_frequency_weights_agree_with_matches_object(ties):
    # Reference: the definition checked by a Python loop over Matches.matched_units (M = 2, a caliper, scores on a
    # grid of 0.25 so that several units tie).
    score = np.array([0.0, 0.5, 1.0, 2.0, 0.25, 0.75, 1.25, 5.0, 0.25, 1.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    res = match_on_score(score, t, n_neighbors=2, caliper=0.5, ties=ties)
    for kind in ("ate", "att"):
        w = frequency_weights_from_matches(res, kind=kind)
        ref = np.zeros(len(t))
        for i in range(len(t)):
            if res.matched[i] and (kind == "ate" or t[i] == 1):
                ref[i] += 1
                used = res.matched_units(i)
                for j in used:
                    ref[j] += 1 / len(used)
        np.testing.assert_allclose(w, ref, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(w, res.frequency_weights(kind))
    assert frequency_weights_from_matches(res)[~res.matched].tolist() == [0.0] * int((~res.matched).sum())


def test_ties_restore_balance_that_a_single_reused_control_breaks():
    # Reference: by hand. Scores take two values (as with discrete covariates); at each, the treated and controls
    # have z = 0 and z = 1 equally often, but z does not enter the score. Keeping ties, each treated unit is
    # matched to all controls at its score and the matched control mean of z is 1/2 as among the treated (SMD 0).
    # Without ties every treated unit takes the same first control at its score, whose z is 0: SMD far from 0.
    score = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    z = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    tied = frequency_weights_from_matches(match_on_score(score, t), kind="att")
    assert standardized_mean_differences(z, t, weights=tied)[0] == 0.0
    single = frequency_weights_from_matches(match_on_score(score, t, ties=False), kind="att")
    assert single.tolist() == [1, 1, 1, 1, 2, 0, 2, 0]
    # treated: mean 1/2, variance 1 / (4 - 16/4) ... = 1/3; controls: all weight on z = 0, variance 0
    assert standardized_mean_differences(z, t, weights=single)[0] == pytest.approx(0.5 / np.sqrt(1 / 6), rel=1e-12)


def test_balance_table_columns_and_values():
    frame = pd.DataFrame(X, columns=["age", "occp=sales", "income"])
    mw = frequency_weights_from_matches(match_on_score(X[:, 0], T))
    res = balance_table(frame, T, iptw_weights=W, matched_weights=mw)
    table = res.to_frame()
    assert list(table.columns) == ["smd_raw", "smd_weighted", "smd_matched", "imbalanced_raw",
                                   "imbalanced_weighted", "imbalanced_matched"]
    assert list(table.index) == ["age", "occp=sales", "income"]
    # Reference: the SMD function itself, already checked against numpy above.
    np.testing.assert_allclose(table["smd_raw"], standardized_mean_differences(X, T), rtol=0, atol=1e-15)
    np.testing.assert_allclose(table["smd_weighted"], _direct_smd(X, T, W), rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["smd_matched"], _direct_smd(X, T, mw), rtol=0, atol=1e-12)
    assert table["imbalanced_raw"].dtype == bool


def test_matched_column_is_nan_without_matched_weights():
    res = balance_table(pd.DataFrame(X), T, iptw_weights=W)
    table = res.to_frame()
    assert table["smd_matched"].isna().all() and not table["imbalanced_matched"].any()
    assert "matched" not in str(res)
    with pytest.raises(ParameterError, match="matched_weights=None") as err:
        res.imbalanced("matched")
    assert err.value.parameter == "which"


def test_flags_at_the_threshold():
    # Reference: the flag is |SMD| >= threshold, so a threshold equal to an |SMD| flags it, and the next float
    # above does not.
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    smd = np.abs(standardized_mean_differences(X, T))
    k = int(np.argmin(smd))
    at = balance_table(frame, T, iptw_weights=W, threshold=float(smd[k]))
    assert at.imbalanced("raw") == ["a", "b", "c"]
    above = balance_table(frame, T, iptw_weights=W, threshold=float(np.nextafter(smd[k], np.inf)))
    assert frame.columns[k] not in above.imbalanced("raw")
    assert above.imbalanced("raw") == [c for c, s in zip(frame.columns, smd) if s >= np.nextafter(smd[k], np.inf)]
    flags = at.to_frame()["imbalanced_weighted"]
    assert at.imbalanced() == list(flags.index[flags])


def test_results_are_immutable():
    res = balance_table(pd.DataFrame(X, columns=["a", "b", "c"]), T, iptw_weights=W)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.threshold = 0.5
    frame = res.to_frame()
    frame.iloc[0, 0] = 99.0
    assert res.to_frame().iloc[0, 0] != 99.0
    table = res.table
    table.iloc[0, 0] = 99.0
    assert res.table.iloc[0, 0] != 99.0
    assert res.table is not res.table
    assert isinstance(res, BalanceResults)


def test_text_and_markdown_output():
    frame = pd.DataFrame(X[:, :2], columns=["job_seek", "occp=sales"])
    res = balance_table(frame, T, iptw_weights=W, threshold=0.01)
    text = str(res)
    assert text == repr(res)
    assert text.startswith("Covariate balance") and "job_seek" in text and "SMD IPTW" in text
    assert f"{res.to_frame()['smd_raw'].iloc[0]:.3f}" in text
    assert all(line == line.rstrip() for line in text.splitlines())
    md = res.as_markdown()
    assert "job\\_seek" in md and md.splitlines()[1].startswith("|:")


@pytest.mark.parametrize("absolute", [False, True])
def test_love_plot_returns_axes(absolute):
    mw = frequency_weights_from_matches(match_on_score(X[:, 0], T))
    res = balance_table(pd.DataFrame(X, columns=["a", "b", "c"]), T, iptw_weights=W, matched_weights=mw)
    ax = res.plot(absolute=absolute)
    assert isinstance(ax, matplotlib.axes.Axes)
    # First covariate at the top, as in the table.
    labels = {float(y): lab.get_text() for y, lab in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert labels == {2.0: "a", 1.0: "b", 0.0: "c"}
    assert len(ax.get_legend().get_texts()) == 3
    _, given = plt.subplots()
    assert res.plot(ax=given) is given


@pytest.mark.parametrize("call, parameter", [
    (lambda: standardized_mean_differences(X, T[:-1]), "t"),
    (lambda: standardized_mean_differences(X, np.r_[T[:-1], 3]), "t"),
    (lambda: standardized_mean_differences(X, np.zeros(N)), "t"),
    (lambda: standardized_mean_differences(np.r_[X[:-1], [[np.nan, 0, 0]]], T), "X"),
    (lambda: standardized_mean_differences(X, T, weights=-W), "weights"),
    (lambda: standardized_mean_differences(X, T, weights=W[:-1]), "weights"),
    (lambda: standardized_mean_differences(X, T, weights=W * (T == 0)), "weights"),
    (lambda: balance_table(X, T, iptw_weights=W), "features"),
    (lambda: balance_table(pd.DataFrame({"occp": ["a"] * N}), T, iptw_weights=W), "features"),
    (lambda: balance_table(pd.DataFrame(X), T, iptw_weights=W, threshold=0), "threshold"),
    (lambda: balance_table(pd.DataFrame(X), T, iptw_weights=np.full(N, np.nan)), "iptw_weights"),
    (lambda: balance_table(pd.DataFrame(X), T, iptw_weights=W, matched_weights=W[:3]), "matched_weights"),
    (lambda: balance_table(pd.DataFrame(X), T, iptw_weights=W).imbalanced("iptw"), "which"),
    (lambda: frequency_weights_from_matches(np.array([[1], [0]]), np.array([True, True])), "matches"),
    (lambda: frequency_weights_from_matches(None), "matches"),
    (lambda: frequency_weights_from_matches(match_on_score(X[:, 0], T), kind="atc"), "kind"),
])
def test_validation_errors_name_the_parameter(call, parameter):
    with pytest.raises(ParameterError, match=parameter) as err:
        call()
    assert err.value.parameter == parameter


def test_docstring_examples_run():
    result = doctest.testmod(balance, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
