"""Parallel mediators (mediationhte.mediation.parallel, mediate() with a list of mediator formulas).

References: the closed forms of linear models (path-specific ACME_j = a_j b_j without interactions; the joint ACME is
their sum; each path equals the single-mediator ACME of mediate() when the other mediator enters the outcome model as
a covariate), and a simulation with known paths: M1 = 0.5 T + e1, M2 = -0.4 T + e2, Y = 0.3 T + 0.6 M1 + 0.5 M2 + e,
so ACME via M1 = 0.30, via M2 = -0.20, joint 0.10, ADE 0.30 (recovered within 4 simulation SEs).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import AssumptionWarning, FormulaError, ParameterError


def _data(n=20_000, rho=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    m1 = 0.5 * t + 0.2 * x + e[:, 0]
    m2 = -0.4 * t - 0.1 * x + e[:, 1]
    y = 0.3 * t + 0.6 * m1 + 0.5 * m2 + 0.1 * x + rng.normal(size=n)
    return pd.DataFrame({"t": t, "x": x, "m1": m1, "m2": m2, "y": y})


FORMULAS = ("y ~ t + m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + x"])


def test_known_paths_are_recovered():
    with warnings.catch_warnings():
        warnings.simplefilter("error", AssumptionWarning)   # independent mediators: no warning
        fit = mh.mediate(*FORMULAS, _data(), sims=1000, random_state=1)
    t = fit.to_frame()
    for key, truth in (("acme[m1]_average", 0.30), ("acme[m2]_average", -0.20), ("acme_joint_average", 0.10),
                       ("ade_average", 0.30), ("total", 0.40)):
        assert abs(t.loc[key, "estimate"] - truth) < 4 * t.loc[key, "std_error"], key


def test_closed_form_and_the_single_mediator_engine():
    d = _data(n=3000, seed=2)
    fit = mh.mediate(*FORMULAS, d, sims=200, random_state=1)
    a = [m.params[list(m.column_names).index("t")] for m in fit.mediator_models]
    names = list(fit.outcome_model.column_names)
    b = [fit.outcome_model.params[names.index(m)] for m in ("m1", "m2")]
    est = fit.estimates
    assert est["acme[m1]_average"] == pytest.approx(a[0] * b[0], abs=1e-10)
    assert est["acme[m2]_average"] == pytest.approx(a[1] * b[1], abs=1e-10)
    assert est["acme_joint_average"] == pytest.approx(a[0] * b[0] + a[1] * b[1], abs=1e-10)
    assert est["total"] == pytest.approx(est["acme_joint_average"] + est["ade_average"], abs=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        single = mh.mediate("y ~ t + m1 + m2 + x", "m1 ~ t + x", d, sims=50, random_state=1)
    assert est["acme[m1]_average"] == pytest.approx(single.point_estimates["acme_average"], abs=1e-10)
    assert est["ade_average"] == pytest.approx(single.point_estimates["ade_average"], abs=1e-10)
    text = " ".join(str(fit.summary()).split())
    assert "ACME via m1 (average)" in text and "do not affect one another" in text


def test_interactions_and_draws():
    d = _data(n=3000, seed=3)
    fit = mh.mediate("y ~ t * m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + x"], d, sims=300, random_state=4)
    est = fit.estimates
    names = list(fit.outcome_model.column_names)
    b1, b1t = (fit.outcome_model.params[names.index(c)] for c in ("m1", "t:m1"))
    a1 = fit.mediator_models[0].params[list(fit.mediator_models[0].column_names).index("t")]
    assert est["acme[m1]_control"] == pytest.approx(a1 * b1, abs=1e-10)
    assert est["acme[m1]_treated"] == pytest.approx(a1 * (b1 + b1t), abs=1e-10)
    again = mh.mediate("y ~ t * m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + x"], d, sims=300, random_state=4)
    pd.testing.assert_frame_equal(fit.to_frame(), again.to_frame())


def test_warnings_and_errors():
    with pytest.warns(AssumptionWarning, match="correlated"):
        mh.mediate(*FORMULAS, _data(n=3000, rho=0.5, seed=5), sims=50, random_state=1)
    d = _data(n=500, seed=6)
    with pytest.raises(FormulaError, match="must not affect one another"):
        mh.mediate("y ~ t + m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + m1 + x"], d, sims=20)
    with pytest.raises(FormulaError, match="mediator x mediator"):
        mh.mediate("y ~ t + m1 * m2 + x", ["m1 ~ t + x", "m2 ~ t + x"], d, sims=20)
    with pytest.raises(ParameterError) as err:
        mh.mediate("y ~ t + m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + x"], d, outcome_family="logit", sims=20)
    assert err.value.parameter == "outcome_family"
    with pytest.raises(ParameterError) as err:
        mh.mediate("y ~ t + m1 + m2 + x", ["m1 ~ t + x"], d, sims=20)
    assert err.value.parameter == "mediator_formula"
    with pytest.raises(ParameterError) as err:
        mh.mediate("y ~ t + m1 + m2 + x", ["m1 ~ t + x", "m2 ~ t + x"], d, covariates={"x": 0.0}, sims=20)
    assert err.value.parameter == "covariates"
