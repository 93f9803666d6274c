"""Simulators and exact truths for dynamic mediation (issue 6, first part).

References: spec dynamic_mediation.md section 3.1 (Toy I truth, stationary laws), 3.2 (Toy II i.i.d.-state truth)
and 5.4 check 1 (the exact Q-tables of the five Bellman equations, printed to 4 decimals there). The spec's numbers
were computed from the official MediationRL code and its saved ground truth.
"""

import doctest
import importlib

import numpy as np
import pytest

from mediationhte import ParameterError
from mediationhte.datasets.dynamic import (
    semi_synthetic_nuisances,
    semi_synthetic_truth,
    simulate_dynamic,
    toy_behaviour,
    toy_truth,
)

TOY1_ETAS = (2.397011, 3.673697, 4.896161, 7.878408, 7.963093)
TOY1_EFFECTS = {"IDE": -1.276686, "IME": -1.222465, "DDE": -2.982246, "DME": -0.084685, "ATE": -5.566082}
TOY1_Q = {
    "Q1": (4.5468, -5.6803, -6.3063, 2.2246, 1.1244, -10.2120, -3.5352),
    "Q2": (5.3629, -4.5490, -6.5933, 3.1968, 1.8980, -10.4272, -1.0860),
    "Q3": (8.4481, -5.0125, -1.2197, 6.0613, 8.2677, -5.4442, 4.9797),
    "Q4": (8.1125, -4.5275, -1.1017, 5.9567, 7.9495, -4.9174, 4.9797),
    "Q5": (5.2623, -6.7142, -6.5579, 2.4477, 1.8026, -11.3349, -3.5352),
}


def test_toy1_truth_matches_the_spec():
    truth = toy_truth("toy1")
    np.testing.assert_allclose(truth["etas"], TOY1_ETAS, atol=1e-6)
    for key, value in TOY1_EFFECTS.items():
        assert truth["effects"][key] == pytest.approx(value, abs=1e-6), key
    stationary = truth["stationary"]
    for chain, value in (("e", 0.3206), ("0", 0.9365), ("G", 0.9195), ("b", 0.6160)):
        assert stationary[chain] == pytest.approx(value, abs=5e-5), chain


def test_toy1_q_tables_solve_the_bellman_equations():
    q = toy_truth("toy1")["q_tables"]
    for name, values in TOY1_Q.items():
        np.testing.assert_allclose(q[name], values, atol=5e-5, err_msg=name)
    for k, eta in enumerate(TOY1_ETAS, start=1):
        # the eta that makes each Bellman system solvable is the long-run average of the same chain
        assert q[f"eta{k}"] == pytest.approx(eta, abs=1e-6)


def test_toy2_iid_states_have_no_delayed_effects():
    effects = toy_truth("toy2_iid")["effects"]
    assert effects["IDE"] == pytest.approx(-1.135414, abs=1e-6)
    assert effects["IME"] == pytest.approx(-1.166942, abs=1e-6)
    assert effects["DDE"] == 0.0 and effects["DME"] == 0.0


@pytest.mark.parametrize("design", ["toy1", "toy2_iid"])
@pytest.mark.parametrize("decomposition", ["four_way", "natural"])
def test_components_add_up_to_the_ate(design, decomposition):
    effects = toy_truth(design, decomposition)["effects"]
    total = sum(effects[k] for k in ("IDE", "IME", "DDE", "DME"))
    assert total == pytest.approx(effects["ATE"], abs=1e-12)
    # both decompositions split the same ATE
    assert effects["ATE"] == pytest.approx(toy_truth(design)["effects"]["ATE"], abs=1e-12)


def test_toy_simulator_reaches_the_behaviour_chain():
    # The state frequency after a burn-in approaches the behaviour chain's stationary P(S = 1) = 0.61603
    # (exact, from toy_truth); 2000 trajectories x 40 late steps, within 4 Monte Carlo SEs (autocorrelation ignored
    # within a trajectory, so the SE uses one state per trajectory and step block means).
    d = simulate_dynamic("toy1", n_trajectories=2000, horizon=60, random_state=3)
    late = d[d["time"] >= 20]
    per_traj = late.groupby("id")["state"].mean()
    mc_se = per_traj.std(ddof=1) / np.sqrt(len(per_traj))
    assert abs(per_traj.mean() - toy_truth("toy1")["stationary"]["b"]) < 4 * mc_se
    # the behaviour propensity the data were drawn with
    first = d[d["time"] == 0]
    share = first.groupby("state")["action"].mean()
    np.testing.assert_allclose(share.to_numpy(), toy_behaviour(share.index.to_numpy()), atol=0.05)


def test_simulator_layout_and_reproducibility():
    a = simulate_dynamic("toy1", n_trajectories=7, horizon=5, random_state=11)
    b = simulate_dynamic("toy1", n_trajectories=7, horizon=5, random_state=11)
    assert a.equals(b)
    assert list(a.columns) == ["id", "time", "state", "action", "mediator", "reward"]
    assert (a.groupby("id")["time"].apply(list) == [list(range(5))] * 7).all()
    assert set(a["reward"].unique()) <= {0.0, 10.0}
    iid = simulate_dynamic("toy2_iid", n_trajectories=3000, horizon=3, random_state=1)
    assert iid.loc[iid["time"] > 0, "state"].mean() == pytest.approx(0.2, abs=0.02)
    semi = simulate_dynamic("semi_synthetic", n_trajectories=4, horizon=6, random_state=2)
    assert list(semi.columns) == ["id", "time", "state", "action", "m1", "m2", "reward"]
    # S_{t+1} = R_t in the semi-synthetic design
    for _, g in semi.groupby("id"):
        np.testing.assert_allclose(g["state"].to_numpy()[1:], g["reward"].to_numpy()[:-1])
    assert callable(semi.attrs["target_policy"]) and semi.attrs["propensity"] == 0.5


def test_semi_synthetic_truth_is_consistent_across_seeds():
    a = semi_synthetic_truth(n_chains=4000, horizon=80, burn_in=40, random_state=1)
    b = semi_synthetic_truth(n_chains=4000, horizon=80, burn_in=40, random_state=2)
    for key in ("IDE", "IME", "DDE", "DME", "ATE"):
        se = np.hypot(a["mc_se"][key], b["mc_se"][key])
        assert abs(a["effects"][key] - b["effects"][key]) < 4 * se + 1e-12, key
    assert sum(a["effects"][k] for k in ("IDE", "IME", "DDE", "DME")) == pytest.approx(a["effects"]["ATE"],
                                                                                      abs=1e-10)


def test_semi_synthetic_natural_truth_has_the_same_total_effect():
    # Both decompositions split the same ATE = eta^{pi_e} - eta^{pi_0} (spec section 1.4): equal within the
    # Monte Carlo error, and the natural components add up to it exactly.
    four = semi_synthetic_truth(n_chains=4000, horizon=80, burn_in=40, random_state=1)
    nat = semi_synthetic_truth(n_chains=4000, horizon=80, burn_in=40, random_state=2, decomposition="natural")
    se = np.hypot(four["mc_se"]["ATE"], nat["mc_se"]["ATE"])
    assert abs(four["effects"]["ATE"] - nat["effects"]["ATE"]) < 4 * se
    assert sum(nat["effects"][k] for k in ("IDE", "IME", "DDE", "DME")) == pytest.approx(nat["effects"]["ATE"],
                                                                                        abs=1e-10)
    # eta^{pi_0} (first natural eta) is the four-way eta5 and eta^{pi_e} (last) is eta1
    assert abs(nat["etas"][0] - four["etas"][4]) < 0.05 and abs(nat["etas"][4] - four["etas"][0]) < 0.05


def test_semi_synthetic_nuisances_describe_the_simulated_data():
    # Reference: the design as the simulator's docstring and the spec (section 3.3) state it, checked on its draws:
    # A ~ Bern(0.5) whatever the state, residuals of M and R about the stated means with mean 0, variance 4 (the
    # noise SD is 2), uncorrelated with each other and with the state. 200 x 50 = 10,000 rows: the mean of a
    # residual has SE 0.02, its variance SE about 0.06, a correlation SE 0.01; tolerances are 4 SE.
    d = simulate_dynamic("semi_synthetic", n_trajectories=200, horizon=50, random_state=11)
    truth = semi_synthetic_nuisances()
    s, a = d["state"].to_numpy(), d["action"].to_numpy(dtype=float)
    m, r = d[["m1", "m2"]].to_numpy(), d["reward"].to_numpy()
    assert abs(a.mean() - 0.5) < 4 * 0.005 and abs(np.corrcoef(a, s)[0, 1]) < 0.04
    np.testing.assert_array_equal(truth["behaviour"](s), np.full(len(s), 0.5))
    resid = np.column_stack([m - truth["mediator_mean"](s, a), r - truth["reward_mean"](s, a, m)])
    np.testing.assert_allclose(resid.mean(axis=0), 0.0, atol=4 * 0.02)
    np.testing.assert_allclose(resid.var(axis=0), 4.0, atol=4 * 0.06)
    np.testing.assert_allclose(truth["mediator_cov"], np.cov(resid[:, :2], rowvar=False), atol=4 * 0.06)
    corr = np.corrcoef(np.column_stack([resid, s, a]), rowvar=False)[:3]
    off_diagonal = corr[~np.eye(3, 5, dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 0.04
    # a wrong mean would show: about the *other* arm's mean, M1's residual moves by 1 towards the arm it came from
    assert np.mean((m[:, 0] - truth["mediator_mean"](s, 1 - a)[:, 0]) * (2 * a - 1)) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("kwargs, parameter", [(dict(scenario="toy3"), "scenario"),
                                               (dict(n_trajectories=0), "n_trajectories"),
                                               (dict(horizon=1), "horizon")])
def test_simulator_errors(kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        simulate_dynamic(**kwargs)
    assert err.value.parameter == parameter


def test_docstring_examples_run():
    result = doctest.testmod(importlib.import_module("mediationhte.datasets.dynamic"))
    assert result.failed == 0 and result.attempted > 0
