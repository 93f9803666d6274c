"""dynamic_mediation() with continuous states and mediators, against a linear-Gaussian design with closed-form truth.

Design (made for this test): S_0 ~ N(0, 1); A ~ Bern(0.5); M = alpha0 + alpha1 S + alpha2 A + e_M, e_M ~ N(0, Sigma)
with correlated coordinates; R = beta0 + beta1 S + beta2 A + beta3' M + N(0, 1); S_{t+1} = R_t; target pi_e = 0.7
(constant), control a_0 = 0. With lambda = beta1 + beta3' alpha1 every chain's mean state is linear, and (derived
from spec section 1.3) IDE = beta2 p, IME = beta3' alpha2 p, DDE = lambda IDE / (1 - lambda), DME = lambda IME /
(1 - lambda); without interactions the natural decomposition (section 1.4) has the same values. The Q-functions are
linear in (s, m) per action, so the polynomial sieve and linear learners are correctly specified: MR and DM must be
unbiased (checked within 4 Monte Carlo SEs of the replicate mean).
"""

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import DataError, ParameterError
from mediationhte.datasets.dynamic import toy_target_policy

ALPHA0, ALPHA1, ALPHA2 = 0.5, np.array([0.4, -0.3]), np.array([1.0, 0.6])
BETA0, BETA1, BETA2, BETA3 = 0.2, 0.3, 0.8, np.array([0.5, 0.4])
P_TARGET = 0.7
SIGMA = np.array([[1.0, 0.5], [0.5, 1.0]])
KEYS = ("IDE", "IME", "DDE", "DME", "ATE")
ARGS = dict(id="id", time="time", state="s", action="a", mediator=["m1", "m2"], reward="r", target_policy=P_TARGET)


def simulate_linear(n_trajectories: int, horizon: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n_trajectories)
    chol = np.linalg.cholesky(SIGMA)
    frames = []
    for t in range(horizon):
        a = (rng.uniform(size=n_trajectories) < 0.5).astype(float)
        m = ALPHA0 + np.outer(s, ALPHA1) + np.outer(a, ALPHA2) + rng.standard_normal((n_trajectories, 2)) @ chol.T
        r = BETA0 + BETA1 * s + BETA2 * a + m @ BETA3 + rng.standard_normal(n_trajectories)
        frames.append(pd.DataFrame({"id": np.arange(n_trajectories), "time": t, "s": s, "a": a.astype(int),
                                    "m1": m[:, 0], "m2": m[:, 1], "r": r}))
        s = r
    return pd.concat(frames).sort_values(["id", "time"]).reset_index(drop=True)


def linear_truth() -> dict:
    lam = BETA1 + BETA3 @ ALPHA1
    ide, ime = BETA2 * P_TARGET, float(BETA3 @ ALPHA2) * P_TARGET
    return {"IDE": ide, "IME": ime, "DDE": lam * ide / (1 - lam), "DME": lam * ime / (1 - lam),
            "ATE": (ide + ime) / (1 - lam)}


@pytest.mark.parametrize("decomposition", ["four_way", "natural"])
def test_linear_gaussian_design_is_recovered(decomposition):
    truth, reps = linear_truth(), 16
    fits = [mh.dynamic_mediation(simulate_linear(150, 25, r), **ARGS, propensity=0.5, learner="linear",
                                 q_basis="polynomial", decomposition=decomposition, random_state=r).to_frame()
            for r in range(reps)]
    for est in ("MR", "DM"):
        values = np.array([[f.loc[(est, k), "estimate"] for k in KEYS] for f in fits])
        bias = values.mean(axis=0) - np.array([truth[k] for k in KEYS])
        mc_se = values.std(axis=0, ddof=1) / np.sqrt(reps)
        assert np.all(np.abs(bias) <= 4 * mc_se + 0.005), (est, bias, mc_se)
        parts = values[:, :4].sum(axis=1)
        assert np.allclose(parts, values[:, 4], atol=1e-10)
    # the MR cluster SE tracks the spread over replicates
    sd = np.array([[f.loc[("MR", k), "estimate"] for k in KEYS] for f in fits]).std(axis=0, ddof=1)
    mean_se = np.array([[f.loc[("MR", k), "std_error"] for k in KEYS] for f in fits]).mean(axis=0)
    assert np.all((mean_se > 0.6 * sd) & (mean_se < 1.6 * sd)), (mean_se, sd)


def test_default_spline_fit_with_boosting_is_close_and_reproducible():
    # One larger fit at the defaults (boosting nuisances, spline basis, 50 draws): MR within 4 of its SEs of the
    # closed-form truth; the same random_state gives identical numbers; the data are not modified.
    d = simulate_linear(300, 25, 11)
    before = d.copy()
    a = mh.dynamic_mediation(d, **ARGS, random_state=3)
    pd.testing.assert_frame_equal(d, before)
    truth = linear_truth()
    t = a.to_frame().loc["MR"]
    for k in KEYS:
        assert abs(t.loc[k, "estimate"] - truth[k]) <= 4 * t.loc[k, "std_error"], k
    pd.testing.assert_frame_equal(a.to_frame(), mh.dynamic_mediation(d, **ARGS, random_state=3).to_frame())
    assert not a.to_frame().equals(mh.dynamic_mediation(d, **ARGS, random_state=4).to_frame())


def test_cross_fitting_and_its_bootstrap():
    d = simulate_linear(60, 12, 5)
    res = mh.dynamic_mediation(d, **ARGS, learner="linear", n_folds=3, n_mc=10, random_state=1)
    plain = mh.dynamic_mediation(d, **ARGS, learner="linear", n_mc=10, random_state=1)
    assert not np.allclose(res.to_frame()["estimate"], plain.to_frame()["estimate"])
    # Truth: the closed form linear_truth(). With or without cross-fitting (correctly specified linear nuisances),
    # every MR component is within 4 of its trajectory-cluster SEs of the truth (that SE tracks the replicate SD in
    # test_linear_gaussian_design_is_recovered).
    truth = linear_truth()
    for fit in (res, plain):
        t = fit.to_frame().loc["MR"]
        for k in KEYS:
            assert abs(t.loc[k, "estimate"] - truth[k]) <= 4 * t.loc[k, "std_error"], k
    one = res.bootstrap_ci(n_boot=4, random_state=2)
    two = res.bootstrap_ci(n_boot=4, random_state=2, n_jobs=2)
    pd.testing.assert_frame_equal(one.to_frame(), two.to_frame())
    with pytest.raises(ParameterError) as err:
        mh.dynamic_mediation(d, **ARGS, n_folds=100)
    assert err.value.parameter == "n_folds"
    toy = mh.simulate_dynamic("toy1", n_trajectories=20, horizon=5, random_state=1)
    with pytest.raises(ParameterError, match="cross-fitting needs a learner"):
        mh.dynamic_mediation(toy, id="id", time="time", state="state", action="action", mediator="mediator",
                             reward="reward", target_policy=0.7, n_folds=2)


def test_control_action_one_is_the_recoded_problem():
    # Recoding A -> 1 - A with the target policy 1 - pi_e and control_action=1 is the same problem: identical numbers.
    d = mh.simulate_dynamic("toy1", n_trajectories=60, horizon=20, random_state=3)
    args = dict(id="id", time="time", state="state", action="action", mediator="mediator", reward="reward")
    base = mh.dynamic_mediation(d, target_policy=toy_target_policy, **args).to_frame()
    flipped = mh.dynamic_mediation(d.assign(action=1 - d["action"]), target_policy=lambda s: 1 - toy_target_policy(s),
                                   control_action=1, **args).to_frame()
    pd.testing.assert_frame_equal(base, flipped, atol=1e-9)


def test_propensity_as_column_constant_or_callable_agree():
    d = simulate_linear(40, 10, 2)
    common = dict(ARGS, learner="linear", n_mc=5, random_state=1)
    by_constant = mh.dynamic_mediation(d, **common, propensity=0.5).to_frame()
    by_column = mh.dynamic_mediation(d.assign(p=0.5), **common, propensity="p").to_frame()
    by_callable = mh.dynamic_mediation(d, **common, propensity=lambda s: np.full(len(s), 0.5)).to_frame()
    pd.testing.assert_frame_equal(by_constant, by_column)
    pd.testing.assert_frame_equal(by_constant, by_callable)


def test_several_state_columns_reach_the_policy_as_a_matrix():
    d = simulate_linear(40, 10, 4)
    d["s2"] = np.random.default_rng(0).standard_normal(len(d))
    shapes = []

    def policy(s):
        shapes.append(np.shape(s))
        return 1 / (1 + np.exp(-0.3 * s[:, 0] + 0.2 * s[:, 1]))

    res = mh.dynamic_mediation(d, **dict(ARGS, state=["s", "s2"], target_policy=policy), learner="linear", n_mc=5,
                               random_state=1)
    assert all(len(shape) == 2 and shape[1] == 2 for shape in shapes)
    assert np.isfinite(res.to_frame().loc["MR", "estimate"]).all()
    with pytest.raises(DataError) as err:
        mh.dynamic_mediation(d.assign(m2=1.0), **ARGS)
    assert err.value.column == "m2" and err.value.role == "mediator"
