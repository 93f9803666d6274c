"""SubgroupResults (mediationhte.subgroups.results): frozen, frames as copies, rules, text/LaTeX/HTML, plots."""

import dataclasses
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from subgroup_data import planted

from mediationhte.subgroups.calibration import Calibration, calibrate_split, calibrate_threshold
from mediationhte.errors import DataError, ParameterError
from mediationhte.subgroups.results import SubgroupResults
from mediationhte.subgroups.discover import SubgroupFit, discover

matplotlib.use("Agg")

ESTIMANDS = ["acme_average", "ade_average", "total", "prop_mediated_average"]


@pytest.fixture(scope="module")
def data():
    X, S, t, m, y, effect = planted(n=500, seed=2)
    X = X.rename(columns={"x1": "job_seek"})  # a name LaTeX must escape, used by the rules
    return X, S, t, m, y, effect


@pytest.fixture(scope="module")
def fit(data):
    X, S, t, m, y, effect = data
    return discover(effect, X, t, m, y, embedding="none", seed=3)


def mediation_by_mean(data):
    X, S, t, m, y, effect = data

    def subgroup_mediation(mask):
        est = float(effect[mask].mean())
        return pd.DataFrame(
            {"estimate": [est, 0.1, est + 0.1, est / (est + 0.1)],
             "ci_lower": [est - 0.2, 0.0, est - 0.1, 0.2], "ci_upper": [est + 0.2, 0.2, est + 0.3, 0.9],
             "p_value": [0.001, 0.3, 0.0004, 0.02]},
            index=ESTIMANDS)

    return subgroup_mediation


@pytest.fixture(scope="module")
def results(data, fit):
    X, S, t, m, y, effect = data
    cal = Calibration("permutation", 0.005, fit.p_leaf, 0.05, null_p=np.linspace(0.01, 1, 199), seed=1)
    unit = pd.DataFrame({"cie_treated": effect, "te": effect + 0.5})
    return SubgroupResults.build(fit, cal, treatment=t, index=pd.Index([f"u{i}" for i in range(len(t))]),
                                 unit_effects=unit, subgroup_mediation=mediation_by_mean(data),
                                 effect="indirect (cie_treated)")


def test_to_frame_one_row_per_subgroup(results, data, fit):
    X, S, t, m, y, effect = data
    frame = results.to_frame()
    L = fit.profile.n_leaves
    assert list(frame.index) == list(range(1, L + 1)) and frame.index.name == "subgroup"
    mediation = [f"{e}{suffix}" for e in ESTIMANDS for suffix in ("", "_ci_lower", "_ci_upper", "_p_value")]
    assert list(frame.columns) == ["rule", "n", "n_treated", "n_control", "mean_cie_treated", "mean_te", *mediation,
                                   "prop_mediated_average_ratio_unstable"]
    assert frame["n"].sum() == len(t)
    assert (frame["n_treated"] + frame["n_control"] == frame["n"]).all()
    for g in frame.index:
        sel = fit.labels == g - 1
        np.testing.assert_allclose(frame.loc[g, "mean_cie_treated"], effect[sel].mean())
        np.testing.assert_allclose(frame.loc[g, "acme_average"], effect[sel].mean())
        assert frame.loc[g, "n_treated"] == t[sel].sum()


def test_accessors(results, fit):
    assert results.k == fit.k and results.p_leaf == fit.p_leaf and results.p_value == 0.005
    assert results.calibration == "permutation" and results.heterogeneous
    assert results.tree is fit.profile.tree
    assert results.rules == fit.profile.rules
    pd.testing.assert_frame_equal(results.k_table, fit.k_table)
    labels = results.labels
    assert labels.index[0] == "u0" and labels.name == "subgroup"
    np.testing.assert_array_equal(labels.to_numpy(), fit.labels + 1)


def test_rules_text_format(results):
    condition = r"(job_seek|x\d) (<=|>) -?\d+(\.\d+)?|-?[\d.]+ < (job_seek|x\d) <= -?[\d.]+"
    for rule in results.rules:
        assert re.fullmatch(rf"({condition})( and ({condition}))*", rule), rule
    assert {"job_seek", "x2"} <= set(results.fit.profile.split_variables)


def test_results_are_frozen_and_frames_are_copies(results):
    with pytest.raises(dataclasses.FrozenInstanceError):
        results.alpha = 0.1
    frame = results.to_frame()
    frame.loc[1, "n"] = -5
    frame["rule"] = "changed"
    assert results.to_frame().loc[1, "n"] != -5 and results.rules[0] != "changed"
    labels = results.labels
    labels.iloc[0] = 99
    assert results.labels.iloc[0] != 99
    with pytest.raises(ValueError):
        results.embedding[0, 0] = 1.0


def test_text_rendering(results):
    text = str(results)
    lines = text.splitlines()
    assert lines[0] == "Calibrated subgroups (M-learner)"
    assert "Effect: indirect (cie_treated)" in lines
    assert any(line.startswith("Calibration: permutation of the treatment (199 permutations") for line in lines)
    assert "Calibrated p-value: 0.005 (< alpha = 0.05): heterogeneity declared" in lines
    for heading in ("Search over K", "Subgroups", "Within-subgroup effects", "Notes:"):
        assert heading in lines
    assert "ACME (average)" in text and "Mean CIE (treated)" in text and results.rules[0] in text
    assert text == text.rstrip() + "\n" and all(line == line.rstrip() for line in lines)
    assert repr(results).startswith("<SubgroupResults: K=")


def test_latex_escapes_and_uses_booktabs(results):
    tex = results.as_latex(caption="Subgroups of job_seek", label="tab:sub")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"job\_seek" in tex and "job_seek" not in tex.replace(r"job\_seek", "")
    assert r"\caption{Subgroups of job\_seek}" in tex and r"\label{tab:sub}" in tex
    assert r"\textless{}=" in tex or r"\textgreater{}" in tex


def test_html_rendering(results):
    out = results.as_html()
    assert out.startswith('<div class="mediationhte-subgroups">') and out.count("<table>") == 3
    assert "&lt;=" in out or "&gt;" in out
    assert results._repr_html_() == out


def test_plots_return_axes(results):
    import matplotlib.pyplot as plt

    ax = results.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    ax2 = results.plot_effects()
    assert isinstance(ax2, matplotlib.axes.Axes) and "ACME (average)" in ax2.get_xlabel()
    assert isinstance(results.plot_effects(estimand="total"), matplotlib.axes.Axes)
    with pytest.raises(ParameterError, match="estimand"):
        results.plot_effects(estimand="acme")
    plt.close("all")


def test_plot_of_a_one_dimensional_embedding(data, fit):
    import matplotlib.pyplot as plt

    X, S, t, m, y, effect = data
    one_d = dataclasses.replace(fit, embedding=fit.embedding[:, :1])
    res = SubgroupResults.build(one_d, calibrate_threshold(fit.p_leaf, 0.01), treatment=t)
    assert isinstance(res.plot(), matplotlib.axes.Axes)
    with pytest.raises(ParameterError, match="subgroup_mediation"):
        res.plot_effects()
    plt.close("all")


def test_threshold_mode_says_it_is_uncalibrated(data, fit):
    X, S, t, m, y, effect = data
    res = SubgroupResults.build(fit, calibrate_threshold(fit.p_leaf, 0.0043), treatment=t)
    text = str(res)
    assert "Calibration: none (p_leaf compared with the fixed threshold p* = 0.0043" in text
    assert "(uncalibrated)" in text and "p_leaf is not calibrated" in text
    assert res.heterogeneous and res.calibration == "threshold"
    assert list(res.to_frame().columns) == ["rule", "n", "n_treated", "n_control"]


def test_split_mode_heterogeneity_uses_alpha(data, fit):
    X, S, t, m, y, effect = data
    cal = calibrate_split(lambda rows: fit.profile, X, t, m, seed=0)
    res = SubgroupResults.build(fit, cal, treatment=t, alpha=0.05)
    assert res.heterogeneous == (cal.p_value < 0.05)
    assert "Held-out p_leaf" in str(res)


def test_failed_subgroup_mediation_leaves_nan_and_a_note(data, fit):
    X, S, t, m, y, effect = data
    good = mediation_by_mean(data)

    def flaky(mask):
        if mask[0]:
            raise DataError("Column 'treat' (treatment) takes a single value in the rows used.")
        return good(mask)

    res = SubgroupResults.build(fit, calibrate_threshold(0.5, 0.01), treatment=t, subgroup_mediation=flaky)
    first = fit.labels[0] + 1
    frame = res.to_frame()
    assert np.isnan(frame.loc[first, "acme_average"]) and frame.drop(index=first)["acme_average"].notna().all()
    assert any(f"Subgroup {first}: within-subgroup mediation failed" in note for note in res.notes)
    assert "NA" in str(res)


def test_unstable_proportion_mediated_is_flagged_per_subgroup(data, fit):
    # Issue 17: a subgroup's proportion mediated 1.42 was printed outside its own interval [-2.34, 1.36] with no
    # flag. The rule is mediate()'s (total's interval covers 0), plus an estimate outside its own interval.
    X, S, t, m, y, effect = data
    first = fit.labels[0]

    def mediation(mask):
        covers = bool(mask[0])   # the first unit's subgroup: total interval covering 0, ratio outside its interval
        return pd.DataFrame({"estimate": [0.1, 0.05 if covers else 0.5, 1.42 if covers else 0.2],
                             "ci_lower": [0.0, -0.1 if covers else 0.3, -2.34 if covers else 0.1],
                             "ci_upper": [0.2, 0.2 if covers else 0.7, 1.36 if covers else 0.3]},
                            index=["acme_average", "total", "prop_mediated_average"])

    res = SubgroupResults.build(fit, calibrate_threshold(0.5, 0.01), treatment=t, subgroup_mediation=mediation)
    flags = res.to_frame()["prop_mediated_average_ratio_unstable"]
    assert flags.loc[first + 1] and not flags.drop(index=first + 1).any()
    assert any(f"ratio_unstable in subgroup(s) {first + 1}:" in note for note in res.notes)


def test_no_profile_gives_one_subgroup(data):
    X, S, t, m, y, effect = data
    n = len(t)
    empty = SubgroupFit(k=None, labels=np.zeros(n, dtype=int), p_leaf=1.0, response="outcome", profile=None,
                        embedding=np.zeros((n, 2)),
                        k_table=pd.DataFrame(dict(k=[2], n_leaves=[1], p_leaf_m=[np.nan], p_leaf_y=[np.nan],
                                                  cv_error=[np.nan])),
                        profiles={2: None}, clusters={}, settings={})
    res = SubgroupResults.build(empty, calibrate_threshold(1.0, 0.05), treatment=t)
    assert res.rules == ("(all units: no profile found)",) and res.tree is None and not res.heterogeneous
    assert res.to_frame()["n"].tolist() == [n]
    assert "No K gave a tree" in str(res) and "p_leaf (mediator)" not in str(res)


def test_build_rejects_mismatched_inputs(fit, data):
    X, S, t, m, y, effect = data
    cal = calibrate_threshold(0.5, 0.01)
    with pytest.raises(ParameterError, match="treatment"):
        SubgroupResults.build(fit, cal, treatment=t[:-1])
    with pytest.raises(ParameterError, match="unit_effects"):
        SubgroupResults.build(fit, cal, treatment=t, unit_effects=pd.DataFrame({"cie": effect[:-1]}))
    with pytest.raises(ParameterError, match="index"):
        SubgroupResults.build(fit, cal, treatment=t, index=range(3))


def test_markdown_rendering(results):
    out = results.as_markdown()
    assert out.startswith("## Calibrated subgroups (M-learner)\n")
    assert out.count("### ") == 3  # search over K, subgroups, within-subgroup mediation
    # Pipe tables: every subgroup is one row, and markdown's special characters are escaped.
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert len(rows) == (2 + 4) + (2 + len(results.rules)) + (2 + 4 * len(results.rules))
    assert r"cie\_treated" in out and "cie_treated" not in out.replace(r"cie\_treated", "")
