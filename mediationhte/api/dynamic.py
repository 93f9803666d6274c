"""Public entry point :func:`dynamic_mediation`: mediation of sequential treatments over time (IDE, IME, DDE, DME).

It checks the arguments, validates the long data into transitions, resolves
``random_state`` once and hands over to :func:`mediationhte.dynamic.fit.fit_dynamic`.
Discrete states and mediators use tabular nuisances and the saturated Q basis with
exact sums over the mediator; continuous ones use learners, additive splines and
Monte Carlo mediator blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from mediationhte.core import validation as V
from mediationhte.core.random_state import resolve_seed
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import (Decomposition, DynamicEstimator, Learner, NuisanceRole, Policy, QBasis,
                                     RandomState, RatioFeatures)
from mediationhte.dynamic.bases import is_discrete
from mediationhte.dynamic.data import (
    DynamicRoles, PolicyContrast, as_columns, check_policy_output, state_policy, transitions,
)
from mediationhte.dynamic.fit import fit_dynamic
from mediationhte.dynamic.nuisances import CROSSFIT_ROLES, DEFAULT_LEARNER
from mediationhte.dynamic.pipeline import DynamicConfig
from mediationhte.dynamic.results import DynamicMediationResults
from mediationhte.errors import DataError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

ESTIMATORS = ("MR", "DM", "MIS", "baseline")
Q_BASES = ("spline", "polynomial", "tabular")
RATIO_FEATURES = ("auto", "rbf", "rff", "linear", "tabular")
#: Folds of whole trajectories with n_folds="auto" (fewer when there are fewer trajectories).
DEFAULT_FOLDS = 5
#: Nuisances cross-fitted by default: everything evaluated at a step's own data (see the docstring).
DEFAULT_CROSSFIT = ("behaviour", "mediator_density", "reward")


@native_thread_budget
def dynamic_mediation(data: pd.DataFrame, *, id: str, time: str, state: str | Sequence[str], action: str,
                      mediator: str | Sequence[str], reward: str, target_policy: Policy, control_action: int = 0,
                      propensity: Policy | None = None, estimators: Sequence[DynamicEstimator] = ESTIMATORS,
                      decomposition: Decomposition = "four_way", q_basis: QBasis = "spline", n_mc: int = 50,
                      random_state: RandomState = None,
                      learner: Literal["auto", "tabular", "linear_boosting"] | Learner = "auto",
                      ratio_features: RatioFeatures = "auto",
                      ridge: float | None = None, clip: float = 500.0, n_folds: int | Literal["auto"] | None = "auto",
                      crossfit: Sequence[NuisanceRole] = DEFAULT_CROSSFIT, allow_gaps: bool = False,
                      alpha: float = 0.05, n_jobs: int = 1) -> DynamicMediationResults:
    """Dynamic mediation of a target policy against "always the control action": IDE, IME, DDE, DME and ATE.

    Four estimators of the average-reward decomposition of Ge et al. (2023): the
    multiply robust MR (with trajectory-cluster standard errors), the direct method
    DM, marginalised importance sampling MIS, and the single-time-point baseline.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per (id, time). Never modified.
    id, time, action, reward : str
        Columns. ``action`` must be 0/1.
    state, mediator : str or list of str
        One column or several.
    target_policy : callable or float
        P(A = 1 | s) of the target policy: a constant, or a callable given the state
        array (1-d for one state column, (n, d) for several).
    control_action : {0, 1}, default 0
        The action of the control policy ("always control_action").
    propensity : None, str, float or callable
        The behaviour policy P(A = 1 | s): None estimates it; a column name gives it per
        row; a constant or a callable gives a known randomisation probability (as in a
        micro-randomised trial).
    estimators : sequence of {"MR", "DM", "MIS", "baseline"}
    decomposition : {"four_way", "natural"}
        Switch the paths from the target policy to the control one at a time (the
        paper's main decomposition), or from the control to the target (Appendix B).
    q_basis : {"spline", "polynomial", "tabular"}, default "spline"
        Sieve of the Q-functions (see :mod:`mediationhte.dynamic.bases`; with only
        discrete states and mediators "spline" is the saturated table).
    n_mc : int, default 50
        Integration nodes per row for a continuous mediator: a Gauss-Hermite product rule
        with floor(n_mc^(1/d)) points per coordinate for a mediator of d <= 2
        coordinates (50 for one, 49 for two), Monte Carlo draws for more.
    random_state : None, int or numpy.random.Generator
        Seeds the learners, the folds, and any Monte Carlo draws and random features.
    learner : "auto", "tabular", "linear", "forest", "boosting", "linear_boosting", an estimator, or a dict by role
        Nuisance models ("behaviour", "mediator", "reward"; a dict's missing roles get
        "linear_boosting"); "auto" is "tabular" for discrete states and mediators and
        "linear_boosting" otherwise: a least-squares linear fit plus boosting of its
        residuals for the mediator means and the reward model, the boosting classifier
        for the behaviour propensity (and a discrete mediator). Why: trees flatten a
        linear trend at the edge of the data, where the density ratios are largest;
        on the semi-synthetic design the linear start (with the residuals' boosting
        stopped early) cut MR's replicate SD of IDE at N = 200 from 0.190 to 0.107 and
        its bias of DDE at N = 500 from 0.36 to 0.11 SE
        (``benchmarks/bench_dynamic.py --coverage --reps 200``; README table).
    ratio_features : {"auto", "rbf", "rff", "linear", "tabular"}
        Features of the state-ratio model: "auto" is "tabular" for a discrete state and
        "rff" (15 random Fourier features of a Gaussian kernel) otherwise; "rbf" puts the
        same kernel's bumps at 15 quantiles of a one-coordinate state (deterministic).
    ridge : float, optional
        Ridge of the Q and ratio systems (default 1e-9 for tabular, 1e-4 otherwise).
    clip : float, default 500
        Ratios are clipped to [1/clip, clip] and the mediator ratio kappa to clip.
    n_folds : int, "auto" or None, default "auto"
        Cross-fit the nuisances named in ``crossfit`` over this many folds of whole
        trajectories (each row's value from models fitted without its trajectory; the
        Q-functions and ratios then use all rows). ``"auto"``: 5 folds with a learner,
        none with ``learner="tabular"``; ``None``: every nuisance fitted on all rows and
        predicted in sample, as the reference code does. With a flexible learner the
        in-sample reward model follows the rewards' noise, so MR's correction terms
        shrink and IDE/IME are biased (semi-synthetic design, N = 200: coverage 0.60
        and 0.77 in sample; see ``benchmarks/bench_dynamic.py --coverage``).
    crossfit : sequence of {"behaviour", "mediator", "mediator_density", "reward"}
        The nuisances cross-fitted when ``n_folds`` is set; default ("behaviour",
        "mediator_density", "reward"): every nuisance evaluated at a step's own data
        comes from models fitted without its trajectory (the propensity, the reward
        model's residual and the mediator density in the ratio kappa), while the
        integrals over the mediator use the mediator law fitted on all rows.
        ``"mediator"`` cross-fits the mediator law everywhere. Why: an in-sample
        mediator density is too high at the step's own mediator (IDE/IME biased by
        0.6 SE at N = 500), and a cross-fitted law in the integrals left DME biased by
        0.9 SE (MR is not robust to the mediator law's errors for the delayed effects);
        the split removes both (``benchmarks/bench_dynamic.py --coverage``).
    allow_gaps : bool, default False
        Treat consecutive rows as consecutive steps even when ``time`` skips values.
    alpha : float, default 0.05
    n_jobs : int, default 1
        Cores the call may use (-1: all): parallel cross-fitting folds (threads, with
        ``n_folds``) and at most ``n_jobs`` native (OpenMP/BLAS) threads in all
        (``n_jobs=2`` roughly halves a large fit on an idle two-core machine). The
        numbers do not depend on it. ``bootstrap_ci(n_jobs=...)`` parallelises the
        resamples.

    Returns
    -------
    DynamicMediationResults

    Examples
    --------
    >>> import mediationhte as mh
    >>> from mediationhte.datasets.dynamic import toy_target_policy
    >>> d = mh.simulate_dynamic("toy1", n_trajectories=50, horizon=20, random_state=1)
    >>> res = dynamic_mediation(d, id="id", time="time", state="state", action="action", mediator="mediator",
    ...                         reward="reward", target_policy=toy_target_policy)
    >>> sorted(res.to_frame().index.get_level_values("component").unique())
    ['ATE', 'DDE', 'DME', 'IDE', 'IME']
    """
    data = V.check_dataframe(data)
    V.check_option("decomposition", decomposition, ("four_way", "natural"))
    V.check_option("q_basis", q_basis, Q_BASES)
    V.check_option("ratio_features", ratio_features, RATIO_FEATURES)
    alpha = V.check_alpha(alpha)
    n_mc = V.check_positive_int("n_mc", n_mc)
    clip = float(clip)
    if not clip > 1:
        raise ParameterError(f"Parameter clip must be a number above 1; got {clip!r}.", parameter="clip")
    names = V.check_options("estimators", estimators, ESTIMATORS)
    column = propensity if isinstance(propensity, str) else None
    rows = transitions(data, id=id, time=time, state=state, action=action, mediator=mediator, reward=reward,
                       propensity_column=column, control_action=control_action, allow_gaps=allow_gaps)
    flip = control_action == 1
    target = state_policy(target_policy, "target_policy", flip)
    check_policy_output(target, np.unique(np.vstack([rows.S, rows.S_next]), axis=0), "target_policy")
    _check_positivity(rows, target, action, control_action)
    known = None
    if propensity is not None and column is None:
        known = state_policy(propensity, "propensity", flip)
        check_policy_output(known, np.unique(rows.S, axis=0), "propensity")
    discrete = is_discrete(np.vstack([rows.S, rows.S_next])) and is_discrete(rows.M)
    if learner == "auto":
        learner = "tabular" if discrete else DEFAULT_LEARNER
    if learner == "tabular" and not discrete:
        raise ParameterError("Parameter learner='tabular' needs discrete states and mediators (at most 20 values "
                             "per column); use a learner such as 'boosting'.", parameter="learner")
    if ridge is None:
        ridge = 1e-9 if discrete and q_basis != "polynomial" else 1e-4
    chosen = V.check_options("crossfit", crossfit, CROSSFIT_ROLES, allow_empty=True)
    crossfit = tuple(role for role in CROSSFIT_ROLES if role in chosen)
    n_traj = int(rows.traj.max()) + 1
    if isinstance(n_folds, str) and n_folds == "auto":
        cross_fitting = learner != "tabular" and bool(crossfit) and n_traj >= 2
        n_folds = min(DEFAULT_FOLDS, n_traj) if cross_fitting else None
    elif n_folds is not None:
        n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
        if learner == "tabular":
            raise ParameterError("Parameter n_folds: cross-fitting needs a learner (learner='tabular' fits cell "
                                 "frequencies); pass learner='boosting' or leave n_folds=None.", parameter="n_folds")
        if n_folds > n_traj:
            raise ParameterError(f"Parameter n_folds={n_folds} exceeds the {n_traj} trajectories.",
                                 parameter="n_folds")
    config = DynamicConfig(target=target, known_propensity=known, learner=learner, q_basis=q_basis,
                           ratio_features=ratio_features, n_mc=n_mc, ridge=float(ridge), clip=clip,
                           decomposition=decomposition, n_folds=n_folds, n_jobs=V.check_n_jobs(n_jobs),
                           crossfit=crossfit)
    # an int (or the entropy drawn for None) seeds numpy.random.default_rng; a Generator is used as is, so
    # random_state=s and random_state=np.random.default_rng(s) give the same numbers (as in every other fit)
    rng, seed_used = resolve_seed(random_state)
    roles = DynamicRoles(id=id, time=time, state=tuple(as_columns(state, "state")), action=action,
                         mediator=tuple(as_columns(mediator, "mediator")), reward=reward)
    call = (f"dynamic_mediation(data=<DataFrame {data.shape[0]}x{data.shape[1]}>, id={id!r}, time={time!r}, "
            f"state={state!r}, action={action!r}, mediator={mediator!r}, reward={reward!r}, "
            f"decomposition={decomposition!r}, learner={learner!r}, n_folds={n_folds!r}, crossfit={crossfit!r}, "
            f"random_state="
            f"{random_state if not isinstance(random_state, np.random.Generator) else 'Generator'!r})")
    return fit_dynamic(rows, config, estimators=names, seed=rng, roles=roles,
                       contrast=PolicyContrast(target=target_policy, control_action=control_action), alpha=alpha,
                       seed_used=seed_used, call=call)


def _check_positivity(rows, target, action: str, control_action: int) -> None:
    """Both compared policies must only take actions the data contain (the estimators divide by their frequency)."""
    observed = set(np.unique(rows.A).astype(int).tolist())   # coded 0 = control action, 1 = the other
    treated_value = 1 - control_action
    if 0 not in observed:
        raise DataError(f"Column {action!r} (action) never takes the control action {control_action} in the data; "
                        "the effects compare the target policy with always taking it, which the data cannot "
                        "evaluate (positivity). Check control_action= or the data.", column=action, role="action")
    if 1 not in observed and np.any(np.asarray(target(np.unique(rows.S, axis=0))) > 0):
        raise DataError(f"Column {action!r} (action) never takes the value {treated_value} in the data, but the "
                        f"target policy gives it a positive probability: no observed step can tell what it does "
                        "(positivity fails; the estimates would be extrapolation). Use data with both actions, or a "
                        f"target policy that never takes action {treated_value}.", column=action, role="action")
