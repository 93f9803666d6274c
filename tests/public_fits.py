"""Every public fit of the package, small enough to refit many times: the cases of the reproducibility and
immutability tests.

Each case knows how to build its (fresh) input data, fit it with a given ``random_state`` and ``n_jobs``, run its
``bootstrap_ci()`` and ``subgroups()`` (where they exist), and list every number a user can read from the results
(``numbers``: name -> DataFrame or Series), so two results can be compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

import mediationhte as mh

JOBS_Y = "depress2 ~ treat + job_seek + econ_hard + sex + age"
JOBS_M = "job_seek ~ treat + econ_hard + sex + age"
#: The mediator model with a treatment x covariate interaction, so the linear fit's unit effects vary (subgroups).
JOBS_M_HET = "job_seek ~ treat * econ_hard + sex + age"
DYNAMIC_ARGS = dict(id="id", time="time", state="state", action="action", mediator="mediator", reward="reward",
                    target_policy=0.8)
# The default calibration: "permutation" for the linear fit (B = 2, so alpha = 0.5 > 1/(B+1)), "blp" for the others.
SUBGROUPS = dict(k=[2], embedding="none", n_permutations=2, alpha=0.5)


def _parallel_data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 300).astype(float)
    d = pd.DataFrame({"t": t, "m1": 0.5 * t + rng.normal(size=300), "m2": -0.4 * t + rng.normal(size=300)})
    d["y"] = 0.3 * t + 0.6 * d["m1"] + 0.5 * d["m2"] + rng.normal(size=300)
    return d


def _mediation_numbers(res) -> dict:
    out = {"to_frame": res.to_frame(), "estimates": res.estimates, "effects": res.effects}
    if hasattr(res, "draws"):
        out["draws"] = res.draws
    return out


def _crt_numbers(res) -> dict:
    return {"effects": res.effects, "ate": res.ate(), "ate_cluster": res.ate("cluster"),
            "cate_intervals": res.cate_intervals(), "variance_components": res.variance_components()}


def boot_numbers(boot) -> dict:
    """Every number of a BootstrapResults."""
    out = {"to_frame": boot.to_frame(), "draws": boot.draws, "estimates": boot.estimates}
    if boot.detail is not None and boot.detail.kind == "unit":
        out["cate_intervals"] = boot.cate_intervals()
    return out


def sub_numbers(sub) -> dict:
    """Every number of a SubgroupResults."""
    out = {"to_frame": sub.to_frame(), "labels": sub.labels, "k_table": sub.k_table,
           "p": pd.Series([sub.p_value, sub.p_leaf, sub.p_subgroups])}
    cal = sub.calibration_result
    if cal.null_p is not None:
        out["null_p"] = pd.Series(np.asarray(cal.null_p, dtype=float))
    if cal.heterogeneity is not None:
        out.update(blp=cal.heterogeneity.blp, gates=cal.heterogeneity.gates)
    if cal.subgroup_effects is not None:
        out["subgroup_effects"] = cal.subgroup_effects
    return out


@dataclass(frozen=True)
class FitCase:
    """One public fit: ``fit(data, random_state, n_jobs)`` and what can be read from it."""

    name: str
    data: Callable[[], pd.DataFrame]
    fit: Callable
    numbers: Callable[[object], dict]
    stochastic: bool = True   # does random_state change the fit's numbers?
    boot: Callable | None = None
    sub: Callable | None = None

    def __repr__(self) -> str:
        return self.name


CASES = (
    FitCase(
        "mediate_linear", mh.load_jobs,
        lambda d, rs, nj=1: mh.mediate(JOBS_Y, JOBS_M_HET, d, sims=50, random_state=rs, n_jobs=nj),
        _mediation_numbers,
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=30, random_state=rs, n_jobs=nj),
        sub=lambda res, rs, nj=1: res.subgroups(**SUBGROUPS, n_boot=10, random_state=rs, n_jobs=nj),
    ),
    FitCase(
        "mediate_boosting", lambda: mh.load_jobs().iloc[:200],
        lambda d, rs, nj=1: mh.mediate(JOBS_Y, JOBS_M, d, learner="boosting", n_folds=2, random_state=rs, n_jobs=nj),
        _mediation_numbers,
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=2, random_state=rs, n_jobs=nj),
        sub=lambda res, rs, nj=1: res.subgroups(**SUBGROUPS, n_boot=10, random_state=rs, n_jobs=nj),
    ),
    FitCase(
        "mediate_parallel", _parallel_data,
        lambda d, rs, nj=1: mh.mediate("y ~ t + m1 + m2", ["m1 ~ t", "m2 ~ t"], d, sims=50, random_state=rs,
                                       n_jobs=nj),
        lambda res: {"to_frame": res.to_frame(), "estimates": res.estimates, "draws": res.draws,
                     "residual_correlation": res.residual_correlation},
    ),
    FitCase(
        "cate_metalearners", mh.load_jobs,
        lambda d, rs, nj=1: mh.cate("depress2 ~ treat + econ_hard + age + sex", d, learner=["t", "dr"],
                                    base_learner="linear", random_state=rs, n_jobs=nj),
        lambda res: {"to_frame": res.to_frame(), "effects": res.effects},
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=4, random_state=rs, n_jobs=nj),
        sub=lambda res, rs, nj=1: res.subgroups(**SUBGROUPS, random_state=rs, n_jobs=nj),
    ),
    FitCase(
        "cate_crt", lambda: mh.simulate_crt("A", random_state=1),
        lambda d, rs, nj=1: mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)", d, learner="lmm", random_state=rs,
                                    n_jobs=nj),
        _crt_numbers, stochastic=False,  # REML has no randomness; its bootstrap and subgroups do
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=4, random_state=rs, n_jobs=nj),
        sub=lambda res, rs, nj=1: res.subgroups(**SUBGROUPS, random_state=rs, n_jobs=nj),
    ),
    FitCase(
        "dynamic_mediation", lambda: mh.simulate_dynamic("toy1", n_trajectories=40, horizon=10, random_state=2),
        lambda d, rs, nj=1: mh.dynamic_mediation(d, **DYNAMIC_ARGS, random_state=rs, n_jobs=nj),
        lambda res: {"to_frame": res.to_frame()}, stochastic=False,  # tabular nuisances: no randomness in the fit
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=4, random_state=rs, n_jobs=nj),
    ),
    FitCase(  # the same data cross-fitted by trajectory folds: random_state now drives the folds
        "dynamic_crossfit", lambda: mh.simulate_dynamic("toy1", n_trajectories=40, horizon=10, random_state=2),
        lambda d, rs, nj=1: mh.dynamic_mediation(d, **DYNAMIC_ARGS, learner="linear", n_folds=2, random_state=rs,
                                                 n_jobs=nj),
        lambda res: {"to_frame": res.to_frame()},
        boot=lambda res, rs, nj=1: res.bootstrap_ci(n_boot=2, random_state=rs, n_jobs=nj),
    ),
)
BOOT_CASES = tuple(c for c in CASES if c.boot is not None)
SUB_CASES = tuple(c for c in CASES if c.sub is not None)


def assert_same_numbers(a: dict, b: dict) -> None:
    """Identical numbers (bit for bit) in two ``numbers`` dicts."""
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, b[key], check_exact=True, obj=key)
        else:
            pd.testing.assert_series_equal(value, b[key], check_exact=True, obj=key)


def differs(a: dict, b: dict) -> bool:
    """True when some number differs between two ``numbers`` dicts."""
    for key, value in a.items():
        x = np.asarray(value.select_dtypes("number") if isinstance(value, pd.DataFrame) else value, dtype=float)
        y = np.asarray(b[key].select_dtypes("number") if isinstance(b[key], pd.DataFrame) else b[key], dtype=float)
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
            return True
    return False


def global_rng_state():
    """numpy's legacy global RandomState, in a form that compares with ==."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return name, keys.tobytes(), pos, has_gauss, cached
