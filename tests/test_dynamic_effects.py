"""DM, MIS, MR and the baseline at the exact data law of the Toy designs (spec 5.4, checks 1-3).

Rows: the 16 cells (s, a, m, s') weighted by d^b(s) b(a|s) p_m(m|s,a) p(s'|s,a,m) with R replaced by r(s,a,m)
(spec check 1). Truths: toy_truth() (equal to the spec's values, see test_dynamic_simulation.py); the baseline's
population values in Toy I (IDE -1.6228, IME -1.3585) and the multiple-robustness pattern are from spec section 3.2
and check 2.
"""

import numpy as np
import pytest

from mediationhte.dynamic.effects import DiscreteNuisances, estimate_effects
from mediationhte.dynamic.solvers import binary_cells
from mediationhte.datasets.dynamic import _toy_mediator, _toy_next, _toy_reward, toy_behaviour, toy_target_policy
from mediationhte.datasets.dynamic import toy_truth

BITS = np.array([0.0, 1.0])
KEYS = ("IDE", "IME", "DDE", "DME", "ATE")


def _pm(m, s, a):
    p1 = _toy_mediator(s, a)
    return np.where(m == 1, p1, 1 - p1)


TRUE = DiscreteNuisances(behaviour=toy_behaviour, target=toy_target_policy, mediator=_pm, reward=_toy_reward,
                         support=(0, 1))


def _rows(design="toy1"):
    iid = design == "toy2_iid"
    db1 = toy_truth(design)["stationary"]["b"]
    s, a, m, s2 = (g.ravel() for g in np.meshgrid(BITS, BITS, BITS, BITS, indexing="ij"))
    nxt = _toy_next(s, a, m, iid)
    p_s2 = np.where(s2 == 1, nxt, 1 - nxt)
    pb = np.where(a == 1, toy_behaviour(s), 1 - toy_behaviour(s))
    w = np.where(s == 1, db1, 1 - db1) * pb * _pm(m, s, a) * p_s2
    return s, a, m, _toy_reward(s, a, m), s2, w


def _run(design="toy1", nuisances=TRUE, **kwargs):
    s, a, m, r, s2, w = _rows(design)
    return estimate_effects(s, a, m, r, s2, nuisances, binary_cells, lambda x: np.column_stack([np.ones_like(x), x]),
                            weights=w, **kwargs)


def test_all_estimators_return_the_truth_at_the_population_law():
    # Check 1: with the true nuisances MR, DM and MIS reproduce the exact truth to 1e-6.
    truth = toy_truth("toy1")["effects"]
    out = _run()
    for method in ("DM", "MIS", "MR"):
        for key in KEYS:
            assert out["effects"][method][key] == pytest.approx(truth[key], abs=1e-6), (method, key)
    for method in ("DM", "MR"):  # the decomposition is exact
        e = out["effects"][method]
        assert e["IDE"] + e["IME"] + e["DDE"] + e["DME"] == pytest.approx(e["ATE"], abs=1e-12)


def _wrong_q(out):
    rng = np.random.default_rng(0)
    return {k: v + rng.normal(0.0, 1.0, size=v.shape) + np.r_[np.zeros(len(v) - 1), 1.5]
            for k, v in out["q"].items()}


def _wrong_mediator(m, s, a):
    p1 = np.clip(_toy_mediator(s, a) * 0.7 + 0.1, 0.05, 0.95)
    return np.where(m == 1, p1, 1 - p1)


def _wrong_reward(s, a, m):
    return _toy_reward(s, a, m) + 0.8 * s - 0.6 * m + 0.3


def test_multiple_robustness_pattern():
    # Check 2 at the population law (spec section 2.5, "Robustness pattern").
    truth = toy_truth("toy1")["effects"]
    wrong_omega = {"e": [1.3, -0.2], "0": [0.8, 0.4], "G": [1.1, -0.3]}

    def mr(**kwargs):
        return _run(**kwargs)["effects"]["MR"]

    # (omega, b) wrong, (Q, eta, p_m, r) right: all four exact
    est = mr(nuisances=DiscreteNuisances(lambda s: np.clip(toy_behaviour(s) + 0.15, 0, 0.95), toy_target_policy,
                                         _pm, _toy_reward, (0, 1)), ratio_override=wrong_omega)
    for key in KEYS:
        assert est[key] == pytest.approx(truth[key], abs=1e-6), ("omega,b wrong", key)
    # (Q, eta, r) wrong, (omega, b, p_m) right: all four exact
    q_bad = _wrong_q(_run())
    est = mr(nuisances=DiscreteNuisances(toy_behaviour, toy_target_policy, _pm, _wrong_reward, (0, 1)),
             q_override=q_bad)
    for key in KEYS:
        assert est[key] == pytest.approx(truth[key], abs=1e-6), ("Q,r wrong", key)
    # (Q, eta, p_m) wrong, (omega, b, r) right: IDE and IME exact, DDE and DME biased by equal and opposite amounts
    est = mr(nuisances=DiscreteNuisances(toy_behaviour, toy_target_policy, _wrong_mediator, _toy_reward, (0, 1)),
             q_override=q_bad, ratio_override=_true_ratios())
    assert est["IDE"] == pytest.approx(truth["IDE"], abs=1e-6)
    assert est["IME"] == pytest.approx(truth["IME"], abs=1e-6)
    bias_dde, bias_dme = est["DDE"] - truth["DDE"], est["DME"] - truth["DME"]
    assert abs(bias_dde) > 0.05 and bias_dde == pytest.approx(-bias_dme, abs=1e-6)
    assert est["ATE"] == pytest.approx(truth["ATE"], abs=1e-6)
    # everything wrong: biased
    est = mr(nuisances=DiscreteNuisances(lambda s: np.clip(toy_behaviour(s) + 0.15, 0, 0.95), toy_target_policy,
                                         _wrong_mediator, _wrong_reward, (0, 1)), q_override=q_bad,
             ratio_override=wrong_omega)
    assert max(abs(est[k] - truth[k]) for k in KEYS) > 0.1


def _true_ratios():
    # omega = d^pi / d^b with psi = [1, s]: beta = (omega(0), omega(1) - omega(0)), from the exact stationary laws
    st = toy_truth("toy1")["stationary"]
    out = {}
    for name in ("e", "0", "G"):
        w0, w1 = (1 - st[name]) / (1 - st["b"]), st[name] / st["b"]
        out[name] = [w0, w1 - w0]
    return out


def test_toy2_iid_and_the_baseline():
    # Check 3: with i.i.d. states MR and the baseline are both exact (DDE = DME = 0); with state transitions (Toy I)
    # the baseline keeps its population bias (IDE -1.6228, IME -1.3585 against -1.2767, -1.2225) while MR is exact.
    truth = toy_truth("toy2_iid")["effects"]
    out = _run("toy2_iid")
    for key in KEYS:
        assert out["effects"]["MR"][key] == pytest.approx(truth[key], abs=1e-6), key
    assert out["effects"]["baseline"]["IDE"] == pytest.approx(truth["IDE"], abs=1e-6)
    assert out["effects"]["baseline"]["IME"] == pytest.approx(truth["IME"], abs=1e-6)
    toy1 = _run("toy1")["effects"]["baseline"]
    assert toy1["IDE"] == pytest.approx(-1.6228, abs=5e-5) and toy1["IME"] == pytest.approx(-1.3585, abs=5e-5)


def test_natural_decomposition_at_the_population_law():
    # Spec section 1.4 (pi_e and pi_0 exchanged): DM, MIS and MR reproduce toy_truth(..., "natural") to 1e-6 and
    # stay exact when (omega, b) or (Q, eta, r) are wrong; with i.i.d. states the baseline is exact too.
    truth = toy_truth("toy1", "natural")
    out = _run(decomposition="natural")
    for method in ("DM", "MIS", "MR"):
        for key in KEYS:
            assert out["effects"][method][key] == pytest.approx(truth["effects"][key], abs=1e-6), (method, key)
    assert np.allclose(out["etas"]["DM"], truth["etas"], atol=1e-6)
    assert out["eta_labels"] == ("eta5", "eta6", "eta7", "eta8", "eta1")
    bad_b = DiscreteNuisances(lambda s: np.clip(toy_behaviour(s) + 0.15, 0, 0.95), toy_target_policy, _pm,
                              _toy_reward, (0, 1))
    est = _run(nuisances=bad_b, ratio_override={"e": [1.3, -0.2], "0": [0.8, 0.4], "G": [1.1, -0.3]},
               decomposition="natural")["effects"]["MR"]
    assert all(est[k] == pytest.approx(truth["effects"][k], abs=1e-6) for k in KEYS)
    bad_r = DiscreteNuisances(toy_behaviour, toy_target_policy, _pm, _wrong_reward, (0, 1))
    est = _run(nuisances=bad_r, q_override=_wrong_q(out), decomposition="natural")["effects"]["MR"]
    assert all(est[k] == pytest.approx(truth["effects"][k], abs=1e-6) for k in KEYS)
    iid = toy_truth("toy2_iid", "natural")["effects"]
    base = _run("toy2_iid", decomposition="natural")["effects"]["baseline"]
    assert base["IDE"] == pytest.approx(iid["IDE"], abs=1e-6) and base["IME"] == pytest.approx(iid["IME"], abs=1e-6)
    for method in ("DM", "MR"):
        e = out["effects"][method]
        assert e["IDE"] + e["IME"] + e["DDE"] + e["DME"] == pytest.approx(e["ATE"], abs=1e-12)
