"""Effect-difference tests (mediationhte.mediation.effect_tests): test_interaction, test_moderation, by().

References are closed forms of linear models (Gaussian mediator and outcome), where the effects are products of
coefficients: with m ~ t * x and y ~ t * m + x, ACME(t | x) = (a_t + a_tx x)(b_m + b_tm t); the draws of a
difference are the same products evaluated at the quasi-Bayesian coefficient draws (reproduced here from the same
seed), so point values must agree to 1e-10 and intervals exactly. Holm's adjustment is checked against Holm's (1979)
step-down definition, written out below and pinned by a worked example.
"""

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import ParameterError
from mediationhte.core.random_state import resolve_seed
from mediationhte.inference.intervals import percentile_interval


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n)
    g = rng.integers(0, 3, size=n)
    m = 1 + 0.5 * t + 0.2 * x + 0.3 * t * x + 0.25 * t * g + rng.normal(size=n)
    y = 0.5 + 0.3 * t + 0.6 * m + 0.2 * t * m + 0.1 * x + rng.normal(size=n)
    return pd.DataFrame({"t": t, "x": x, "g": g, "m": m, "y": y})


def _holm_by_definition(p):
    """Holm (1979): with p sorted, p_(i) becomes max over j <= i of min(1, (m - j + 1) p_(j)) (j counted from 1)."""
    m = len(p)
    rank = {i: r for r, i in enumerate(sorted(range(m), key=lambda i: p[i]), start=1)}
    return np.array([max(min(1.0, (m - rank[j] + 1) * p[j]) for j in range(m) if rank[j] <= rank[i])
                     for i in range(m)])


def test_holm_definition_matches_a_worked_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> 0.06 (step-down keeps it monotone)
    assert np.allclose(_holm_by_definition([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=0, atol=1e-15)
    assert np.allclose(_holm_by_definition([0.6, 0.9]), [1.0, 1.0], rtol=0, atol=1e-15)   # 2 * 0.6 capped at 1


def _coef(fit, model, name):
    names = list(getattr(fit, f"{model}_model").column_names)
    return names.index(name)


def test_interaction_is_the_product_of_coefficients_and_uses_the_stored_draws():
    fit = mh.mediate("y ~ t * m + x", "m ~ t + x", _data(), sims=500, random_state=3)
    test = fit.test_interaction()
    a_t = fit.mediator_model.params[_coef(fit, "mediator", "t")]
    b_tm = fit.outcome_model.params[_coef(fit, "outcome", "t:m")]
    assert test.estimate == pytest.approx(a_t * b_tm, abs=1e-10)
    diff = fit.draws["acme_treated"] - fit.draws["acme_control"]
    lo, hi = percentile_interval(diff.to_numpy(), 0.05)
    assert (test.ci_lower, test.ci_upper) == (pytest.approx(lo, abs=1e-14), pytest.approx(hi, abs=1e-14))
    assert "Test of ACME(1) - ACME(0) = 0" in str(test)
    with pytest.raises(ParameterError, match="interaction"):
        mh.mediate("y ~ t + m + x", "m ~ t + x", _data(), sims=20, random_state=1).test_interaction()


def test_moderation_uses_paired_draws_without_refitting():
    d = _data()
    fit = mh.mediate("y ~ t + m + x", "m ~ t * x", d, sims=400, random_state=5)
    res = fit.test_moderation({"x": 1.0}, {"x": -1.0}, random_state=9)
    a_tx, b_m = _coef(fit, "mediator", "t:x"), _coef(fit, "outcome", "m")
    expected = fit.mediator_model.params[a_tx] * 2.0 * fit.outcome_model.params[b_m]
    frame = res.to_frame()
    assert frame.loc["ACME(covariates.1) - ACME(covariates.2)", "estimate"] == pytest.approx(expected, abs=1e-10)
    assert frame.loc["ADE(covariates.1) - ADE(covariates.2)", "estimate"] == pytest.approx(0.0, abs=1e-10)
    # the same draws as mediate() makes, in the same order: mediator coefficients, then outcome coefficients
    rng = resolve_seed(9)[0]
    alpha = rng.multivariate_normal(fit.mediator_model.params, fit.mediator_model.cov, size=400, method="eigh")
    beta = rng.multivariate_normal(fit.outcome_model.params, fit.outcome_model.cov, size=400, method="eigh")
    lo, hi = percentile_interval(alpha[:, a_tx] * 2.0 * beta[:, b_m], 0.05)
    row = frame.loc["ACME(covariates.1) - ACME(covariates.2)"]
    assert row["ci_lower"] == pytest.approx(lo, abs=1e-12) and row["ci_upper"] == pytest.approx(hi, abs=1e-12)
    with pytest.raises(ParameterError) as err:
        fit.test_moderation({"x": 1.0}, {"x": 1.0})
    assert err.value.parameter == "covariates_2"
    with pytest.raises(ParameterError):
        fit.test_moderation({"nope": 1.0}, {"x": 1.0})
    # with an interaction: the four R contrasts
    inter = mh.mediate("y ~ t * m + x", "m ~ t * x", d, sims=100, random_state=5)
    assert len(inter.test_moderation({"x": 1.0}, {"x": 0.0}).tests) == 4


def test_moderation_by_a_covariate_that_interacts_with_nothing_is_an_exact_zero():
    # Issue 17: x enters both models additively, so ACME and ADE cannot depend on it; the difference used to be
    # rounding noise (-1e-16, p = 0.86). R's rule for an estimate of exactly 0 is p = 1.
    fit = mh.mediate("y ~ t + m + x", "m ~ t + x", _data(), sims=300, random_state=5)
    frame = fit.test_moderation({"x": 1.0}, {"x": -1.0}, random_state=9).to_frame()
    assert (frame[["estimate", "ci_lower", "ci_upper"]].to_numpy() == 0.0).all()
    assert (frame["p_value"] == 1.0).all()
    # x moderates the mediator slope only (m:x, no t:m): ADE is still a structural zero, ACME is not (closed form
    # b_mx * 2 * a_t on the Gaussian models)
    slope = mh.mediate("y ~ t + m * x", "m ~ t + x", _data(), sims=300, random_state=5)
    frame = slope.test_moderation({"x": 1.0}, {"x": -1.0}, random_state=9).to_frame()
    a_t, b_mx = _coef(slope, "mediator", "t"), _coef(slope, "outcome", "m:x")
    expected = slope.mediator_model.params[a_t] * 2.0 * slope.outcome_model.params[b_mx]
    assert frame.iloc[0]["estimate"] == pytest.approx(expected, abs=1e-10) and frame.iloc[0]["p_value"] < 1
    assert frame.iloc[1]["estimate"] == 0.0 and frame.iloc[1]["p_value"] == 1.0


def test_by_level_matches_the_closed_form_and_tests_heterogeneity():
    d = _data(n=3000, seed=1)
    fit = mh.mediate("y ~ t + m + x + C(g)", "m ~ t * C(g) + x", d, sims=1000, random_state=2)
    res = fit.by("g")
    p = dict(zip(fit.mediator_model.column_names, fit.mediator_model.params))
    b_m = fit.outcome_model.params[_coef(fit, "outcome", "m")]
    for level in (0, 1, 2):
        a = p["t"] + (p.get(f"t:C(g)[T.{level}]", 0.0))
        assert res.table.loc[(str(level), "acme_average"), "estimate"] == pytest.approx(a * b_m, abs=1e-10)
    assert res.table.loc[("0", "acme_average"), "n"] == int((d["g"] == 0).sum())
    assert res.omnibus.loc["acme_average", "p_value"] < 0.01       # the truth differs by level (0.25 t g)
    assert res.omnibus.loc["ade_average", "wald"] == pytest.approx(0.0, abs=1e-8)   # the ADE does not
    raw = res.pairwise.loc["acme_average", "p_value"].to_numpy()
    assert np.allclose(res.pairwise.loc["acme_average", "p_holm"].to_numpy(), _holm_by_definition(raw),
                       rtol=0, atol=1e-15)
    # a column outside the formulas, binned into quartiles
    d2 = d.assign(z=np.random.default_rng(0).normal(size=len(d)))
    binned = mh.mediate("y ~ t + m + x", "m ~ t + x", d2, sims=200, random_state=2).by("z", data=d2)
    counts = binned.table.xs("acme_average", level="estimand")["n"]
    assert len(counts) == 4 and counts.sum() == len(d2) and counts.min() >= len(d2) // 4 - 1
    # without moderation in the models every level has the same effect
    est = binned.table.xs("acme_average", level="estimand")["estimate"]
    assert np.allclose(est, est.iloc[0])
    with pytest.raises(ParameterError) as err:
        fit.by("z")
    assert err.value.parameter == "column"
    pd.testing.assert_frame_equal(fit.by("g", random_state=4).table, fit.by("g", random_state=4).table)
    assert "Omnibus test" in str(res)
