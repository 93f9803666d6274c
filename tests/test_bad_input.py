"""Bad or awkward input at every entry point: the package's own error naming the culprit, never a silent wrong answer.

Table-driven (issue 15). Each case is (id, call, expected): ``call(data)`` runs on a fresh copy of the Jobs II
data (or the case's own frame) and ``expected`` is an error class with a fragment the message must contain (the
culprit's name), or a warning class with a fragment, or a callable checking the right answer. Every case also
checks that the input frame is unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
import mediationhte.__main__
from mediationhte import (ContrastWarning, DataError, FormulaError, FormulaWarning, MediationHTEError,
                          ParameterError)

Y = "depress2 ~ treat + job_seek + econ_hard + sex + age"
M = "job_seek ~ treat + econ_hard + sex + age"
JOBS = mh.load_jobs()
TEXT_TREAT = JOBS.assign(treat=np.where(JOBS["treat"] == 1, "active", "control"))
# the right answer for the text-label cases: R-parity linear ACME on the 0/1 coding (tests/test_vs_r.py)
ACME = mh.mediate(Y, M, JOBS).estimates["acme_average"]
SPACED = JOBS.rename(columns={"job_seek": "job seek", "age": "class"})
ACME_AGE = mh.mediate("depress2 ~ treat + job_seek + age", "job_seek ~ treat + age", JOBS).estimates["acme_average"]
TOY = mh.simulate_dynamic("toy1", n_trajectories=30, horizon=10, random_state=1)
CRT = mh.simulate_crt("A", n_clusters=30, random_state=3)
_rng = np.random.default_rng(1)
_x, _t = _rng.normal(size=(600, 2)), _rng.permutation(np.r_[np.ones(300), np.zeros(300)])
_m = 3 * _t + _x[:, 0] + _rng.normal(scale=0.05, size=600)   # the mediator all but reveals the arm
REVEALING = pd.DataFrame({"x1": _x[:, 0], "x2": _x[:, 1], "treat": _t, "m": _m,
                          "y": _m + _x[:, 1] + _rng.normal(size=600)})
RARE_ACTION = (np.random.default_rng(0).random(len(TOY)) < 0.005).astype(int)   # 2 treated steps of 300
DYN = dict(id="id", time="time", state="state", action="action", mediator="mediator", reward="reward")


def _first_rows(series, value, k=3):
    """``series`` with its first ``k`` values replaced by ``value`` (as float)."""
    return series.astype(float).where(np.arange(len(series)) >= k, value)


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mh.AssumptionWarning)
        return call()


def _no_warning(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call()


@dataclass(frozen=True)
class Case:
    id: str
    data: pd.DataFrame
    call: Callable
    error: type | None = None
    fragment: str = ""
    warning: type | None = None
    check: Callable | None = None


CASES = [
    # numbers stored as text become factors with one level per value: refuse, naming the column
    Case("covariate numbers as text", JOBS.assign(age=JOBS["age"].astype(str)), lambda d: mh.mediate(Y, M, d),
         DataError, "'age'"),
    Case("outcome numbers as text", JOBS.assign(depress2=JOBS["depress2"].astype(str)), lambda d: mh.mediate(Y, M, d),
         DataError, "'depress2'"),
    Case("treatment 0/1 as text", JOBS.assign(treat=JOBS["treat"].astype(str)), lambda d: mh.mediate(Y, M, d),
         DataError, "'treat'"),
    Case("cate covariate numbers as text", JOBS.assign(age=JOBS["age"].astype(str)),
         lambda d: mh.cate("depress2 ~ treat + age", d, learner="t"), DataError, "'age'"),
    Case("text codes as category work", JOBS.assign(sex=JOBS["sex"].astype(str).astype("category")),
         lambda d: mh.mediate(Y, M, d), check=lambda r: np.isfinite(r.estimates["acme_average"])),
    # a contrast outside the observed values of a 0/1 treatment
    Case("treat_value outside 0/1", JOBS, lambda d: mh.mediate(Y, M, d, treat_value=5, control_value=0),
         ParameterError, "treat_value=5"),
    Case("control_value outside 0/1", JOBS, lambda d: mh.mediate(Y, M, d, treat_value=1, control_value=-1),
         ParameterError, "control_value=-1"),
    Case("treat_value and control_value on 0/1 work", JOBS,
         lambda d: mh.mediate(Y, M, d, treat_value=1, control_value=0),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("reversed 0/1 contrast flips the sign", JOBS,
         lambda d: mh.mediate(Y, M, d, treat_value=0, control_value=1),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(-ACME, rel=1e-6)),
    # text labels: the contrast chosen is announced, or chosen by the user
    Case("text treatment labels warn naming the contrast", TEXT_TREAT, lambda d: mh.mediate(Y, M, d),
         warning=ContrastWarning, fragment="treated = 'control'"),
    Case("text treatment labels with treat_value give the right sign", TEXT_TREAT,
         lambda d: mh.mediate(Y, M, d, treat_value="active", control_value="control"),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    # scales double precision cannot hold
    Case("outcome times 1e300", JOBS.assign(depress2=JOBS["depress2"] * 1e300), lambda d: mh.mediate(Y, M, d),
         DataError, "'depress2'"),
    Case("covariate times 1e300", JOBS.assign(age=JOBS["age"] * 1e300), lambda d: mh.mediate(Y, M, d),
         DataError, "'age'"),
    Case("covariate plus 2**62", JOBS.assign(age=JOBS["age"] + 2**62), lambda d: mh.mediate(Y, M, d),
         DataError, "'age'"),
    Case("mediator times 1e200", JOBS.assign(job_seek=JOBS["job_seek"] * 1e200), lambda d: mh.mediate(Y, M, d),
         DataError, "'job_seek'"),
    Case("cate outcome times 1e300", JOBS.assign(depress2=JOBS["depress2"] * 1e300),
         lambda d: mh.cate("depress2 ~ treat + age", d, learner="t"), DataError, "'depress2'"),
    Case("large but representable scale works", JOBS.assign(age=JOBS["age"] * 1e6), lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-6)),
    # infinities (existing behaviour, kept)
    Case("infinite covariate", JOBS.assign(age=JOBS["age"].where(JOBS.index != 3, np.inf)),
         lambda d: mh.mediate(Y, M, d), DataError, "'age'"),
    Case("infinite outcome in cate", JOBS.assign(depress2=JOBS["depress2"].where(JOBS.index != 3, -np.inf)),
         lambda d: mh.cate("depress2 ~ treat + age", d, learner="t"), DataError, "'depress2'"),
    # unit effects that do not vary (a linear fit without treatment x covariate interactions): no subgroups
    Case("subgroups on constant unit effects (split)", JOBS,
         lambda d: mh.mediate(Y, M, d).subgroups(calibration="split", n_boot=0, random_state=1),
         check=lambda r: len(r.rules) == 1 and r.p_value == 1.0 and not r.heterogeneous
         and any("do not vary" in note for note in r.notes)),
    Case("subgroups on constant unit effects (permutation)", JOBS,
         lambda d: mh.mediate(Y, M, d).subgroups(k=[2], n_permutations=19, alpha=0.1, n_boot=0, random_state=1),
         check=lambda r: len(r.rules) == 1 and r.p_value == 1.0),
    # a frame given back to a result method must match the fit's rows
    Case("by() with duplicate index labels", JOBS.set_axis(np.zeros(len(JOBS), dtype=int)),
         lambda d: mh.mediate(Y.replace(" + sex", " * sex"), M, JOBS, sims=20).by("occp", data=d), DataError,
         "duplicate index labels"),
    Case("by() with a frame lacking the fit's rows", JOBS.iloc[:100],
         lambda d: mh.mediate(Y.replace(" + sex", " * sex"), M, JOBS, sims=20).by("occp", data=d), DataError,
         "lacks 799 rows"),
    Case("by() with a column not in data", JOBS,
         lambda d: mh.mediate(Y, M, JOBS, sims=20).by("occupation", data=d), ParameterError, "'occupation'"),
    # column labels formulas cannot name
    Case("integer column labels", JOBS[["depress2", "treat", "job_seek", "age"]].set_axis([0, 1, 2, 3], axis=1),
         lambda d: mh.mediate("0 ~ 1 + 2", "2 ~ 1", d), DataError, "not strings"),
    Case("MultiIndex columns", JOBS[["depress2", "treat", "job_seek"]].set_axis(
        pd.MultiIndex.from_tuples([("y", "a"), ("t", "a"), ("m", "a")]), axis=1),
         lambda d: mh.mediate("y ~ t + m", "m ~ t", d), DataError, "MultiIndex"),
    Case("integer labels in cate", JOBS[["depress2", "treat", "age"]].set_axis([0, 1, 2], axis=1),
         lambda d: mh.cate("0 ~ 1 + 2", d), DataError, "not strings"),
    # no overlap: the treatment is a threshold of a covariate in the model
    Case("cate without overlap warns", JOBS.assign(treat=(JOBS["age"] > JOBS["age"].median()).astype(int)),
         lambda d: mh.cate("depress2 ~ treat + age + econ_hard", d, learner="t"), warning=mh.AssumptionWarning,
         fragment="Overlap fails"),
    Case("cate without overlap flags the summary", JOBS.assign(treat=(JOBS["age"] > JOBS["age"].median()).astype(int)),
         lambda d: _quiet(lambda: mh.cate("depress2 ~ treat + age + econ_hard", d, learner="t")),
         check=lambda r: "Overlap fails" in str(r.summary())),
    Case("cate with overlap does not warn", JOBS, lambda d: mh.cate("depress2 ~ treat + age + econ_hard", d,
                                                                    learner="t"),
         check=lambda r: r.overlap_note == ""),
    # a cluster-randomised fit whose clusters are single units: variance components not identified
    Case("CRT with one unit per cluster", mh.simulate_crt("A", n_clusters=60, cluster_size=(1, 1), random_state=3),
         lambda d: mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", d, learner="lmm"), DataError,
         "single unit"),
    # dynamic mediation: positivity of the compared policies, and the behaviour policy
    Case("dynamic: no treated step but a target policy that treats", TOY.assign(action=0),
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "'action'"),
    Case("dynamic: no control step", TOY.assign(action=1),
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "control action"),
    Case("dynamic: propensity 0", TOY, lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8, propensity=0.0),
         ParameterError, "propensity"),
    Case("dynamic: propensity callable returning 1", TOY,
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8, propensity=lambda s: np.ones(len(s))),
         ParameterError, "propensity"),
    Case("dynamic: one row is too few rows, not a constant mediator", TOY.iloc[:1],
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "at least 2 trajectories"),
    Case("dynamic: one trajectory", TOY[TOY["id"] == TOY["id"].iloc[0]],
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "'id'"),
    Case("dynamic: a valid constant propensity works", TOY,
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8, propensity=0.5),
         check=lambda r: np.isfinite(r.to_frame()["estimate"]).all()),
    # column names that are not Python names: a clear message, Q("...") in every role, R's backticks
    Case("bare name with a space", SPACED, lambda d: mh.mediate("depress2 ~ treat + job seek + class",
                                                                "job seek ~ treat + class", d),
         FormulaError, 'Q("job seek")'),
    Case("bare keyword column", SPACED.rename(columns={"job seek": "job_seek"}),
         lambda d: mh.mediate("depress2 ~ treat + job_seek + class", "job_seek ~ treat + class", d),
         FormulaError, 'Q("class")'),
    Case("Q() mediator and keyword covariate", SPACED,
         lambda d: mh.mediate('depress2 ~ treat + Q("job seek") + Q("class")', 'Q("job seek") ~ treat + Q("class")',
                              d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME_AGE, rel=1e-12)),
    Case("R backticks in every role", SPACED,
         lambda d: mh.mediate("depress2 ~ treat + `job seek` + `class`", "`job seek` ~ treat + `class`", d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME_AGE, rel=1e-12)),
    Case("R backticks in cate", SPACED, lambda d: mh.cate("depress2 ~ treat + `class`", d, learner="t",
                                                          random_state=1),
         check=lambda r: r.effects.shape == (899, 1)),
    # ML learners see raw covariate columns: a transform or product term in the formula is named in a warning
    Case("ML mediate with np.log and a product term", JOBS,
         lambda d: mh.mediate("depress2 ~ treat + job_seek + np.log(age) + age:sex", "job_seek ~ treat + np.log(age)",
                              d, learner="boosting", n_folds=2, random_state=1),
         warning=FormulaWarning, fragment="np.log(age), age:sex"),
    Case("cate with I() and C()", JOBS,
         lambda d: mh.cate("depress2 ~ treat + I(econ_hard**2) + C(age > 40)", d, learner="t", random_state=1),
         warning=FormulaWarning, fragment="I(econ_hard ** 2), C(age > 40)"),
    Case("CRT forest with I()", mh.simulate_crt("A", n_clusters=30, random_state=3),
         lambda d: mh.cate("y ~ treat + x1 + I(x2 ** 2) + (1 | cluster)", d, learner="gbm", random_state=1),
         warning=FormulaWarning, fragment="I(x2 ** 2)"),
    Case("linear mediate honours np.log (no warning, same as a log column)", JOBS,
         lambda d: _no_warning(lambda: mh.mediate("depress2 ~ treat + job_seek + np.log(age)",
                                                  "job_seek ~ treat + np.log(age)", d)),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(mh.mediate(
             "depress2 ~ treat + job_seek + log_age", "job_seek ~ treat + log_age",
             JOBS.assign(log_age=np.log(JOBS["age"]))).estimates["acme_average"], rel=1e-12)),
    # NaN and inf in every role: NaN rows are dropped (with a warning), inf is refused naming the column
    Case("inf outcome", JOBS.assign(depress2=_first_rows(JOBS["depress2"], np.inf)), lambda d: mh.mediate(Y, M, d),
         DataError, "'depress2' (outcome)"),
    Case("-inf mediator", JOBS.assign(job_seek=_first_rows(JOBS["job_seek"], -np.inf)), lambda d: mh.mediate(Y, M, d),
         DataError, "'job_seek' (mediator)"),
    Case("inf covariate", JOBS.assign(age=_first_rows(JOBS["age"], np.inf)), lambda d: mh.mediate(Y, M, d),
         DataError, "'age' (covariate)"),
    Case("NaN outcome rows dropped with a warning", JOBS.assign(depress2=_first_rows(JOBS["depress2"], np.nan)),
         lambda d: mh.mediate(Y, M, d), warning=mh.DroppedRowsWarning,
         fragment="3 rows with missing values in 'depress2'"),
    Case("NaN treatment gives the complete-case answer", JOBS.assign(treat=_first_rows(JOBS["treat"], np.nan)),
         lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(
             mh.mediate(Y, M, JOBS.iloc[3:]).estimates["acme_average"], rel=1e-12)),
    Case("cate inf outcome", JOBS.assign(depress2=_first_rows(JOBS["depress2"], np.inf)),
         lambda d: mh.cate("depress2 ~ treat + age + econ_hard", d, learner="t"), DataError, "'depress2'"),
    Case("dynamic NaN reward", TOY.assign(reward=_first_rows(TOY["reward"], np.nan)),
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "'reward'"),
    # empty, tiny and one-arm data
    Case("empty data", JOBS.iloc[:0], lambda d: mh.mediate(Y, M, d), DataError, "no rows"),
    Case("one arm", JOBS[JOBS["treat"] == 1], lambda d: mh.mediate(Y, M, d), DataError, "'treat'"),
    Case("cate one arm", JOBS[JOBS["treat"] == 0], lambda d: mh.cate("depress2 ~ treat + age", d, learner="t"),
         DataError, "'treat'"),
    Case("cate arms too small for the folds", JOBS.iloc[:8],
         lambda d: mh.cate("depress2 ~ treat + age", d, learner="t"), DataError, "n_folds"),
    Case("ML mediate arms too small for the folds", JOBS.iloc[:12],
         lambda d: mh.mediate(Y, M, d, learner="boosting"), MediationHTEError, "n_folds"),
    # nullable and other pandas dtypes give the numbers of their plain counterparts
    Case("nullable Int64 covariate", JOBS.assign(sex=JOBS["sex"].astype("Int64")), lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("nullable Int64 covariate with NA", JOBS.assign(sex=JOBS["sex"].astype("Int64").mask(np.arange(899) < 2)),
         lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(
             mh.mediate(Y, M, JOBS.iloc[2:]).estimates["acme_average"], rel=1e-12)),
    Case("Float64 outcome", JOBS.assign(depress2=JOBS["depress2"].astype("Float64")), lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("boolean treatment", JOBS.assign(treat=JOBS["treat"].astype("boolean")), lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("categorical 0/1 treatment", JOBS.assign(treat=JOBS["treat"].astype("category")),
         lambda d: mh.mediate(Y, M, d), check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("string-dtype numbers", JOBS.assign(sex=JOBS["sex"].astype(str).astype("string")),
         lambda d: mh.mediate(Y, M, d), DataError, "'sex'"),
    # indexes and column names
    Case("duplicate index labels", JOBS.set_axis(np.zeros(899, dtype=int)), lambda d: mh.mediate(Y, M, d),
         check=lambda r: r.estimates["acme_average"] == pytest.approx(ACME, rel=1e-12)),
    Case("duplicate column names", pd.concat([JOBS, JOBS[["age"]]], axis=1), lambda d: mh.mediate(Y, M, d),
         DataError, "['age']"),
    Case("collinear covariate", JOBS.assign(age2=2 * JOBS["age"]), lambda d: mh.mediate(Y + " + age2", M, d),
         DataError, "'age2'"),
    # bad option values, at the entry points and in the result methods
    Case("sims 0", JOBS, lambda d: mh.mediate(Y, M, d, sims=0), ParameterError, "sims"),
    Case("sims not an integer", JOBS, lambda d: mh.mediate(Y, M, d, sims=1.5), ParameterError, "sims"),
    Case("alpha 1", JOBS, lambda d: mh.mediate(Y, M, d, alpha=1), ParameterError, "alpha"),
    Case("alpha as text", JOBS, lambda d: mh.mediate(Y, M, d, alpha="0.05"), ParameterError, "alpha"),
    Case("n_jobs 0", JOBS, lambda d: mh.mediate(Y, M, d, n_jobs=0), ParameterError, "n_jobs"),
    Case("random_state text", JOBS, lambda d: mh.mediate(Y, M, d, random_state="a"), ParameterError,
         "random_state"),
    Case("random_state negative", JOBS, lambda d: mh.mediate(Y, M, d, random_state=-1), ParameterError,
         "random_state"),
    Case("data as an array", JOBS, lambda d: mh.mediate(Y, M, d.to_numpy()), ParameterError, "data"),
    Case("formula not a string", JOBS, lambda d: mh.mediate(3, M, d), FormulaError, "outcome_formula"),
    Case("misspelled treatment", JOBS, lambda d: mh.mediate(Y, M, d, treatment="tret"), DataError, "'tret'"),
    Case("bootstrap_ci n_boot 0", JOBS, lambda d: mh.mediate(Y, M, d).bootstrap_ci(0), ParameterError, "n_boot"),
    Case("bootstrap_ci bad method", JOBS, lambda d: mh.mediate(Y, M, d).bootstrap_ci(50, method="bc"),
         ParameterError, "method"),
    Case("sensitivity rho outside (-1, 1)", JOBS, lambda d: mh.mediate(Y, M, d).sensitivity(rho=[2.0]),
         ParameterError, "rho"),
    Case("sensitivity bad effect", JOBS, lambda d: mh.mediate(Y, M, d).sensitivity(effect="indrect"),
         ParameterError, "effect"),
    Case("test_moderation unknown covariate", JOBS,
         lambda d: mh.mediate(Y, M, d).test_moderation({"sexx": 0}, {"sexx": 1}), ParameterError, "'sexx'"),
    Case("by() unknown column", JOBS, lambda d: mh.mediate(Y, M, d).by("occpp"), ParameterError, "'occpp'"),
    Case("subgroups bad calibration", JOBS, lambda d: mh.mediate(Y, M, d).subgroups(calibration="blpp"),
         ParameterError, "calibration"),
    Case("cate bad learner", JOBS, lambda d: mh.cate("depress2 ~ treat + age", d, learner="q"), ParameterError,
         "learner"),
    Case("cate clip reversed", JOBS, lambda d: mh.cate("depress2 ~ treat + age", d, clip=(0.6, 0.4)),
         ParameterError, "clip"),
    Case("cate bad trim", JOBS, lambda d: mh.cate("depress2 ~ treat + age", d, trim=0.7), ParameterError, "trim"),
    Case("cate n_folds 1", JOBS, lambda d: mh.cate("depress2 ~ treat + age", d, n_folds=1), ParameterError,
         "n_folds"),
    Case("cate continuous treatment", JOBS, lambda d: mh.cate("depress2 ~ econ_hard + age", d), DataError,
         "'econ_hard'"),
    Case("CRT treatment varying within a cluster", CRT.assign(treat=np.arange(len(CRT)) % 2),
         lambda d: mh.cate("y ~ treat + x1 + (1 | cluster)", d), DataError, "within cluster 0 of"),
    Case("CRT bad learner", CRT, lambda d: mh.cate("y ~ treat + x1 + (1 | cluster)", d, learner="xx"),
         ParameterError, "learner"),
    Case("CRT random treatment slope", CRT, lambda d: mh.cate("y ~ treat + x1 + (treat | cluster)", d),
         FormulaError, "(treat | cluster)"),
    Case("dynamic misspelled column", TOY, lambda d: mh.dynamic_mediation(d, **dict(DYN, reward="rew"),
                                                                         target_policy=0.8), DataError, "'rew'"),
    Case("dynamic policy above 1", TOY, lambda d: mh.dynamic_mediation(d, **DYN, target_policy=1.5),
         ParameterError, "target_policy"),
    Case("dynamic policy as text", TOY, lambda d: mh.dynamic_mediation(d, **DYN, target_policy="treat"),
         ParameterError, "target_policy"),
    Case("dynamic action not 0/1", TOY.assign(action=TOY["action"] * 2),
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8), DataError, "'action'"),
    Case("dynamic duplicated times", TOY.assign(time=0), lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8),
         DataError, "'time'"),
    Case("dynamic control_action 2", TOY, lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8,
                                                                        control_action=2),
         ParameterError, "control_action"),
    Case("simulate bad n", JOBS, lambda d: mh.simulate("global", n=-1), ParameterError, "n"),
    Case("simulate misspelled scenario", JOBS, lambda d: mh.simulate("globl", n=100), ParameterError,
         "Did you mean 'global'"),
    # positivity: a mediator that reveals the arm leaves the influence function's weights clipped
    Case("ML mediate with a mediator that reveals the arm", REVEALING,
         lambda d: mh.mediate("y ~ treat + m + x1 + x2", "m ~ treat + x1 + x2", d, learner="boosting", n_folds=3,
                              random_state=1),
         warning=mh.AssumptionWarning, fragment="have P(T = 1 | M, X) outside [0.01, 0.99]"),
    Case("dynamic: a target policy the data almost never follow", TOY.assign(action=RARE_ACTION),
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=1.0), warning=mh.AssumptionWarning,
         fragment="159 with the behaviour propensity within 0.001 of 0 or 1"),
    Case("dynamic: a known propensity near 0", TOY,
         lambda d: mh.dynamic_mediation(d, **DYN, target_policy=0.8,
                                        propensity=lambda s: np.where(np.ravel(s) > 0, 0.0005, 0.5)),
         warning=mh.AssumptionWarning, fragment="with the behaviour propensity within 0.001 of 0 or 1"),
    # misspelled columns and bad options
    Case("misspelled covariate", JOBS, lambda d: mh.mediate(Y.replace("age", "agee"), M, d), MediationHTEError,
         "agee"),
    Case("bad learner name", JOBS, lambda d: mh.mediate(Y, M, d, learner="boost"), ParameterError, "learner"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case):
    data = case.data.copy(deep=True)
    before = data.copy(deep=True)
    if case.error is not None:
        with pytest.raises(case.error) as info:
            case.call(data)
        assert case.fragment in str(info.value)
    elif case.warning is not None:
        with pytest.warns(case.warning, match=None) as record:
            case.call(data)
        assert any(case.fragment in str(w.message) for w in record if issubclass(w.category, case.warning))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mh.DroppedRowsWarning)
            result = case.call(data)
        assert case.check(result)
    pd.testing.assert_frame_equal(data, before, check_exact=True)


@pytest.mark.parametrize("argv, fragment", [
    (["--data", "{missing}", "--outcome", Y, "--mediator", M], "cannot read --data"),
    (["--data", "{csv}", "--outcome", "depress2 ~ treat + jobseek", "--mediator", M], "'jobseek'"),
    (["--data", "{csv}", "--outcome", Y, "--mediator", M, "--alpha", "2"], "alpha"),
    (["--data", "{csv}", "--outcome", Y], "--mediator"),
], ids=["missing file", "misspelled column", "alpha 2", "no mediator formula"])
def test_cli_bad_input(argv, fragment, tmp_path, capsys):
    """The command line exits with status 2 and a one-line message naming the culprit, never a traceback."""
    csv = tmp_path / "jobs.csv"
    JOBS.to_csv(csv, index=False)
    argv = [a.format(csv=csv, missing=tmp_path / "none.csv") for a in argv]
    with pytest.raises(SystemExit) as info:
        mh.__main__.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err



def _dynamic(**kw):
    d = mh.simulate_dynamic("toy1", n_trajectories=10, horizon=5, random_state=1)
    return mh.dynamic_mediation(d, id="id", time="time", state="state", action="action", mediator="mediator",
                                reward="reward", target_policy=0.5, **kw)


def _cate(**kw):
    data = pd.DataFrame({"y": np.arange(40.0) % 7, "t": np.arange(40) % 2, "x": np.arange(40.0)})
    return mh.cate("y ~ t + x", data, n_folds=2, random_state=1, **kw)


def _refute(**kw):
    return _cate(learner="t").refute(**kw)


@pytest.mark.parametrize("call, parameter, good", [
    (_dynamic, "estimators", "MR"), (_dynamic, "crossfit", "reward"), (_cate, "learner", "t"),
    (_refute, "methods", "placebo"),
])
@pytest.mark.parametrize("bad, fragment", [
    (5, "got 5"),                   # not a list: the package's error, not a TypeError from tuple(5)
    ("repeat", "without repeats"),
    ("unknown", "'zz'"),
])
def test_option_lists_are_checked_by_one_rule(call, parameter, good, bad, fragment):
    # dynamic_mediation(estimators=, crossfit=), cate(learner=) and refute(methods=) share
    # core.validation.check_options: the parameter named, unknown / repeated / non-list values refused
    value = {"repeat": [good, good], "unknown": [good, "zz"]}.get(bad, bad)
    with pytest.raises(ParameterError) as err:
        call(**{parameter: value})
    assert err.value.parameter == parameter and fragment in str(err.value), str(err.value)


def test_empty_option_lists():
    # no estimator is an error; crossfit=() is allowed and means "fit every nuisance on all rows"
    with pytest.raises(ParameterError) as err:
        _dynamic(estimators=[])
    assert err.value.parameter == "estimators"
    assert _dynamic(crossfit=(), learner="linear").config.n_folds is None
