"""dynamic_mediation(), first version (tabular): spec check 4 and the input validation of issue 6.

Truth: toy_truth("toy1") (exact; equal to the spec's values). Check 4's acceptance (spec 5.4): N = 100, T = 50,
200 replicates, |bias| <= 0.03 for every component and 95% CI coverage in [0.91, 0.98]; the spec's own tabular
reimplementation reported SDs (0.141, 0.085, 0.166, 0.035) and coverage 0.93-0.965.
"""

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import DataError, ParameterError
from mediationhte.api.dynamic import dynamic_mediation
from mediationhte.datasets.dynamic import toy_target_policy, toy_truth

KEYS = ("IDE", "IME", "DDE", "DME")
ARGS = dict(id="id", time="time", state="state", action="action", mediator="mediator", reward="reward",
            target_policy=toy_target_policy)


def test_toy1_bias_and_coverage():
    truth = toy_truth("toy1")["effects"]
    est, covered = [], []
    for r in range(200):
        d = mh.simulate_dynamic("toy1", n_trajectories=100, horizon=50, random_state=1000 + r)
        t = dynamic_mediation(d, **ARGS).to_frame().loc["MR"]
        est.append([t.loc[k, "estimate"] for k in KEYS])
        covered.append([t.loc[k, "ci_lower"] <= truth[k] <= t.loc[k, "ci_upper"] for k in KEYS])
    bias = np.mean(est, axis=0) - np.array([truth[k] for k in KEYS])
    assert np.all(np.abs(bias) <= 0.03), bias
    coverage = np.mean(covered, axis=0)
    assert np.all((coverage >= 0.91) & (coverage <= 0.98)), coverage


def test_components_add_up_and_results_are_immutable():
    d = mh.simulate_dynamic("toy1", n_trajectories=60, horizon=30, random_state=5)
    res = dynamic_mediation(d, **ARGS)
    t = res.to_frame()
    for est in ("MR", "DM"):
        parts = sum(t.loc[(est, k), "estimate"] for k in KEYS)
        assert parts == pytest.approx(t.loc[(est, "ATE"), "estimate"], abs=1e-10)
    frame = res.to_frame()
    frame.iloc[:, :] = 0
    assert not (res.to_frame() == 0).all().all()
    assert "MR: DDE" in str(res.summary())
    assert res.n_trajectories == 60 and res.n_transitions == 60 * 29


def test_known_constant_propensity_and_unequal_lengths():
    d = mh.simulate_dynamic("toy1", n_trajectories=80, horizon=30, random_state=6)
    shorter = d[~((d["id"] % 2 == 0) & (d["time"] >= 20))]  # half the trajectories stop at t = 19
    res = dynamic_mediation(shorter, **ARGS)
    assert np.isfinite(res.to_frame()["std_error"].loc["MR"]).all()
    const = dynamic_mediation(d, **dict(ARGS, target_policy=0.7))
    assert np.isfinite(const.to_frame().loc[("MR", "ATE"), "estimate"])


def test_validation_errors():
    d = mh.simulate_dynamic("toy1", n_trajectories=10, horizon=6, random_state=1)
    with pytest.raises(DataError, match="more than once"):
        dynamic_mediation(pd.concat([d, d.iloc[:1]]), **ARGS)
    with pytest.raises(DataError, match="gaps"):
        dynamic_mediation(d[d["time"] != 3], **ARGS)
    assert dynamic_mediation(d[d["time"] != 3], allow_gaps=True, **ARGS) is not None
    with pytest.raises(DataError) as err:
        dynamic_mediation(d.assign(action=d["action"] * 2), **ARGS)
    assert err.value.column == "action"
    with pytest.raises(DataError, match="constant"):
        dynamic_mediation(d.assign(mediator=1), **ARGS)
    with pytest.raises(DataError, match="one row"):
        dynamic_mediation(pd.concat([d, d.iloc[:1].assign(id=99)]), **ARGS)
    with pytest.raises(ParameterError, match="outside"):
        dynamic_mediation(d, **dict(ARGS, target_policy=lambda s: s + 2))
    with pytest.raises(ParameterError, match="shape"):
        dynamic_mediation(d, **dict(ARGS, target_policy=lambda s: np.ones(3)))
    with pytest.raises(ParameterError) as err:
        dynamic_mediation(d, decomposition="pure", **ARGS)
    assert err.value.parameter == "decomposition"
    with pytest.raises(ParameterError) as err:
        dynamic_mediation(d, control_action=2, **ARGS)
    assert err.value.parameter == "control_action"
    with pytest.raises(ParameterError) as err:
        dynamic_mediation(d.assign(x=np.linspace(0, 1, len(d))), learner="tabular", **dict(ARGS, mediator="x"))
    assert err.value.parameter == "learner"
    with pytest.raises(DataError) as err:
        dynamic_mediation(d.assign(p=1.0), propensity="p", **ARGS)
    assert err.value.column == "p" and err.value.role == "propensity"
    with pytest.raises(DataError) as err:
        dynamic_mediation(d.assign(state=d["state"].astype(str)), **ARGS)
    assert err.value.column == "state"
    with pytest.raises(ParameterError) as err:
        dynamic_mediation(d, estimators=["XX"], **ARGS)
    assert err.value.parameter == "estimators"


def test_docstring_examples_run():
    for name in ("api.dynamic", "dynamic.results"):
        result = doctest.testmod(importlib.import_module(f"mediationhte.{name}"))
        assert result.failed == 0 and result.attempted > 0, name


def test_trajectory_bootstrap_matches_the_cluster_se():
    # Resampling whole trajectories: identical for any n_jobs, and its SE of the MR effects is close to the
    # trajectory-cluster SE (within 35% at B = 60).
    d = mh.simulate_dynamic("toy1", n_trajectories=100, horizon=30, random_state=8)
    res = dynamic_mediation(d, **dict(ARGS, estimators=("MR", "DM")))
    a = res.bootstrap_ci(n_boot=60, random_state=2).to_frame()
    b = res.bootstrap_ci(n_boot=60, random_state=2, n_jobs=2).to_frame()
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, res.bootstrap_ci(n_boot=60, random_state=2, progress=True).to_frame())
    for k in KEYS:
        assert a.loc[("MR", k), "std_error"] == pytest.approx(res.to_frame().loc[("MR", k), "std_error"], rel=0.35)


def test_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = mh.simulate_dynamic("toy1", n_trajectories=30, horizon=20, random_state=9)
    ax = dynamic_mediation(d, **ARGS).plot()
    assert len(ax.get_yticklabels()) == 5
    plt.close("all")


def test_summary_shows_the_standard_errors_in_every_format():
    d = mh.simulate_dynamic("toy1", n_trajectories=40, horizon=15, random_state=3)
    res = dynamic_mediation(d, **ARGS)
    s = res.summary()
    se = res.to_frame().loc[("MR", "IDE"), "std_error"]
    text = s.as_text()
    assert "Std. Error" in text and f"{se:.6f}" in text
    assert "Std. Error" in s.as_latex() and "lrrrrr" in s.as_latex()
    assert "Std. Error" in s.as_html() and "Std. Error" in s.as_markdown()
    # mediate()'s R layout is unchanged: no Std. Error column
    jobs = mh.mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hard", mh.load_jobs(),
                      sims=50, random_state=1)
    assert "Std. Error" not in jobs.summary().as_text().split("Sample Size")[0]
