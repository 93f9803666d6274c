"""Simulated data sets of the M-learner paper, with their true unit-level effects.

The data-generating processes (DGPs) are those of the authors' simulation scripts
(``simulations/Experiment{1..7}_rf.R`` and ``Experiment{1..4}_no_mediator.R`` in
``1996lixingyu1996/M-learner``): seven scenarios with a mediator and four without one, plus three
mediator designs of our own for the heterogeneity test's validity table.
Only the random number streams differ (numpy instead of R), so a given seed does not
reproduce the authors' data sets draw for draw.

Every row also carries the *true* conditional effects given its covariates. They integrate
over the mediator and outcome error terms, so they are exact for any ``noise_sd``:
plain algebra for the linear scenarios, Gauss-Hermite quadrature for the sigmoid
("complex") ones.
"""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np
import pandas as pd
from scipy.special import expit

from mediationhte.core.random_state import resolve_seed
from mediationhte.core.types import RandomState
from mediationhte.errors import ParameterError
from mediationhte.core.validation import check_positive_int

__all__ = ["SCENARIOS", "scenario_kind", "simulate"]

#: One-line description of every scenario, keyed by the name :func:`simulate` accepts.
#: ``h = S*(x1 + x2)`` with ``S = 1{x1 > 0 and x2 > 0}``; ``b_M = x3 + x4 + 0.5*x1 + 0.5*x2``.
SCENARIOS: dict[str, str] = {
    "simple_all": "Simple-All (Exp1): M = b_M + T*h, linear Y = 1 + M + 0.5x3 + 0.5x4; CIE = h, CDE = 0.",
    "simple_part": "Simple-Part (Exp2): as Simple-All plus T*h in Y; CIE = CDE = h (50% mediated in S).",
    "complex_all": "Complex-All (Exp3): as Simple-All with Y = 1/(1+exp(linear predictor)); CIE < 0 in S, CDE = 0.",
    "complex_part": "Complex-Part (Exp4): as Simple-Part with Y = 1/(1+exp(linear predictor)); CIE, CDE < 0 in S.",
    "simple_null1": "Simple-Null1 (Exp5): M = b_M (no T), Y = 1 + M + 0.5x3 + 0.5x4 + T*h; CIE = 0, CDE = h.",
    "simple_null2": "Simple-Null2 (Exp6): as Simple-Null1 but Y does not depend on M; CIE = 0, CDE = h.",
    "global": "Simple-Global (Exp7): M = b_M + T, Y = 1 + M + 0.5x3 + 0.5x4; CIE = 1 for everyone, CDE = 0.",
    "global_nonlinear": "Constant indirect effect with nonlinear prognostic terms in M and Y; CIE = 1, CDE = 0.",
    "direct_only": "Heterogeneous direct effect, constant indirect: M = b_M + T, Y = 1 + M + ... + T*h; CIE = 1, "
                   "CDE = h.",
    "outcome_path": "Heterogeneity only in the mediator -> outcome slope: M = b_M + T, Y = 1 + (1 + h) M + ...; "
                    "CIE = 1 + h, CDE = 0.",
    "total_simple": "No mediator, Simple: Y = 1 + x3 + x4 + 0.5x1 + 0.5x2 + T*h; CATE = h.",
    "total_complex": "No mediator, Complex: Y = 1/(1+exp(1 + x3 + x4 + 0.5x1 + 0.5x2 + T*h)); CATE < 0 in S.",
    "total_global": "No mediator, Global: Y = 1 + T + x3 + x4; CATE = 1 for everyone.",
    "total_null": "No mediator, Null: Y = 1 + x3 + x4 + 0.5x1 + 0.5x2; CATE = 0.",
}

# Structure of the mediator scenarios: M(t) = b_M + t*a(x) + e_M and
# Y(t, m) = link(1 + beta*m + 0.5x3 + 0.5x4 + t*c(x) + e_Y), link = identity or 1/(1+exp(.)).
# a and c are "h" (= S*(x1 + x2)), "one" or "zero".
_MEDIATOR_DGP: dict[str, dict] = {
    "simple_all": {"a": "h", "beta": 1.0, "c": "zero", "sigmoid": False},
    "simple_part": {"a": "h", "beta": 1.0, "c": "h", "sigmoid": False},
    "complex_all": {"a": "h", "beta": 1.0, "c": "zero", "sigmoid": True},
    "complex_part": {"a": "h", "beta": 1.0, "c": "h", "sigmoid": True},
    "simple_null1": {"a": "zero", "beta": 1.0, "c": "h", "sigmoid": False},
    "simple_null2": {"a": "zero", "beta": 0.0, "c": "h", "sigmoid": False},
    "global": {"a": "one", "beta": 1.0, "c": "zero", "sigmoid": False},
    # designs the paper lacks (the heterogeneity test's validity table): a constant non-zero indirect effect with
    # nonlinear prognostic terms, a heterogeneous direct effect only, heterogeneity in the M -> Y slope only
    "global_nonlinear": {"a": "one", "beta": 1.0, "c": "zero", "sigmoid": False, "prognostic": "nonlinear"},
    "direct_only": {"a": "one", "beta": 1.0, "c": "h", "sigmoid": False},
    "outcome_path": {"a": "one", "beta": "1+h", "c": "zero", "sigmoid": False},
}

# No-mediator scenarios: Y(t) = link(base(x) + t*c(x) + e_Y).
# base "full" = 1 + x3 + x4 + 0.5x1 + 0.5x2, "short" = 1 + x3 + x4 (the Global script drops x1, x2).
_TOTAL_DGP: dict[str, dict] = {
    "total_simple": {"base": "full", "c": "h", "sigmoid": False},
    "total_complex": {"base": "full", "c": "h", "sigmoid": True},
    "total_global": {"base": "short", "c": "one", "sigmoid": False},
    "total_null": {"base": "full", "c": "zero", "sigmoid": False},
}

_N_COVARIATES = 10
_N_QUADRATURE = 60
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(_N_QUADRATURE)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(math.pi)  # now they sum to 1: E f(Z) = sum w_k f(mu + sqrt(2 var) x_k)
_GH_MAX_SD = 1.5


def _check_scenario(scenario) -> str:
    """Return the canonical (lower-case) scenario name; raise ParameterError listing the valid ones."""
    key = scenario.strip().lower() if isinstance(scenario, str) else None
    if key in SCENARIOS:
        return key
    valid = ", ".join(repr(name) for name in SCENARIOS)
    hint = ""
    if key:
        close = difflib.get_close_matches(key, list(SCENARIOS), n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    raise ParameterError(
        f"Parameter scenario must be one of {valid}; got {scenario!r}.{hint}", parameter="scenario"
    )


def _check_noise_sd(noise_sd) -> float:
    if (isinstance(noise_sd, bool) or not isinstance(noise_sd, numbers.Real)
            or not math.isfinite(noise_sd) or noise_sd < 0):
        raise ParameterError(
            f"Parameter noise_sd must be a finite number >= 0 (the standard deviation of every error "
            f"term); got {noise_sd!r}.",
            parameter="noise_sd",
        )
    return float(noise_sd)


def scenario_kind(name: str) -> str:
    """Say whether a scenario has a mediator.

    Parameters
    ----------
    name : str
        A key of :data:`SCENARIOS` (case-insensitive).

    Returns
    -------
    str
        ``"mediator"`` for the ten mediator scenarios, ``"total"`` for the four
        no-mediator scenarios.

    Raises
    ------
    ParameterError
        If ``name`` is not a scenario name (``parameter="scenario"``).

    Examples
    --------
    >>> from mediationhte.datasets.mediation import scenario_kind
    >>> scenario_kind("complex_part"), scenario_kind("total_null")
    ('mediator', 'total')
    """
    key = _check_scenario(name)
    return "mediator" if key in _MEDIATOR_DGP else "total"


def _expected_sigmoid(mean: np.ndarray, var: float) -> np.ndarray:
    """E[1/(1 + exp(L))] for L ~ N(mean, var), elementwise.

    60-node Gauss-Hermite quadrature (error below 1e-12 for sd(L) <= 1.5, i.e. noise_sd up to
    about 1.06 in the mediator scenarios). Gauss-Hermite degrades when sd(L) is large (the
    sigmoid's poles at Im L = +-pi come close to the real axis in standardised units), so
    beyond that the trapezoid rule on the standard-normal scale is used, with step 1/(2 sd)
    (aliasing error about exp(-4 pi^2)) over +-9 sd.
    """
    mean = np.asarray(mean, dtype=float)
    if var == 0:
        return expit(-mean)
    sd = math.sqrt(var)
    if sd <= _GH_MAX_SD:
        nodes, weights = math.sqrt(2.0) * _GH_NODES, _GH_WEIGHTS
    else:
        n_nodes = 2 * math.ceil(9.0 * 2.0 * sd) + 1
        nodes = np.linspace(-9.0, 9.0, n_nodes)
        weights = np.exp(-0.5 * nodes**2)
        weights = weights / weights.sum()
    out = np.zeros_like(mean)
    for node, weight in zip(nodes, weights):
        out += weight * expit(-(mean + sd * node))
    return out


def _term(kind: str, h: np.ndarray) -> np.ndarray:
    if kind == "h":
        return h
    return np.full_like(h, 1.0 if kind == "one" else 0.0)


def _mediator_frame(spec: dict, X, treat, h, rng, noise_sd) -> dict[str, np.ndarray]:
    x1, x2, x3, x4 = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    a = _term(spec["a"], h)
    c = _term(spec["c"], h)
    beta = 1.0 + h if spec["beta"] == "1+h" else spec["beta"]
    b_m = x3 + x4 + 0.5 * x1 + 0.5 * x2
    b_y = 0.5 * x3 + 0.5 * x4
    if spec.get("prognostic") == "nonlinear":
        x5, x6 = X[:, 4], X[:, 5]
        b_m = b_m + np.sin(np.pi * x5) + 0.5 * x6**2
        b_y = b_y + np.abs(x6) + np.cos(np.pi * x5)
    e_m = rng.normal(0.0, noise_sd, size=len(treat))
    e_y = rng.normal(0.0, noise_sd, size=len(treat))

    m = b_m + treat * a + e_m
    eta = 1.0 + beta * m + b_y + treat * c + e_y
    y = expit(-eta) if spec["sigmoid"] else eta

    if spec["sigmoid"]:
        # Y(t, M(t')) = 1/(1+exp(L)), L ~ N(1 + beta*(b_M + t'a) + 0.5x3 + 0.5x4 + t*c, (beta^2 + 1) sd^2).
        var = (beta**2 + 1.0) * noise_sd**2
        base = 1.0 + beta * b_m + b_y
        mu = {(t, tm): _expected_sigmoid(base + beta * tm * a + t * c, var) for t in (0, 1) for tm in (0, 1)}
        cie = mu[1, 1] - mu[1, 0]
        cde = mu[1, 0] - mu[0, 0]
        cie_control = mu[0, 1] - mu[0, 0]
        cde_treated = mu[1, 1] - mu[0, 1]
        te = mu[1, 1] - mu[0, 0]
    else:
        # Linear in (t, m) without interaction: every version of each effect coincides.
        cie = cie_control = beta * a + np.zeros_like(h)
        cde = cde_treated = c + np.zeros_like(h)
        te = cie + cde
    return {"m": m, "y": y, "cie": cie, "cde": cde, "te": te,
            "cie_control": cie_control, "cde_treated": cde_treated}


def _total_frame(spec: dict, X, treat, h, rng, noise_sd) -> dict[str, np.ndarray]:
    x1, x2, x3, x4 = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    c = _term(spec["c"], h)
    base = 1.0 + x3 + x4
    if spec["base"] == "full":
        base = base + 0.5 * x1 + 0.5 * x2
    e_y = rng.normal(0.0, noise_sd, size=len(treat))
    eta = base + treat * c + e_y
    if spec["sigmoid"]:
        y = expit(-eta)
        var = noise_sd**2
        te = _expected_sigmoid(base + c, var) - _expected_sigmoid(base, var)
    else:
        y = eta
        te = c.copy()
    return {"y": y, "te": te}


def simulate(scenario: str, n: int = 1000, *, noise_sd: float = 0.01, random_state: RandomState = None) -> pd.DataFrame:
    """Simulate one data set of an M-learner scenario, with the true unit-level effects.

    All three simulators (:func:`~mediationhte.simulate`, :func:`~mediationhte.simulate_crt`,
    :func:`~mediationhte.simulate_dynamic`) take the same argument style: the scenario name
    first, then the size(s), then keyword-only options, ``random_state=None`` last (None:
    fresh entropy, recorded in ``attrs["seed_used"]``).

    Parameters
    ----------
    scenario : str
        Scenario name (case-insensitive), a key of :data:`SCENARIOS`. With a mediator:
        ``"simple_all"``, ``"simple_part"``, ``"complex_all"``, ``"complex_part"``,
        ``"simple_null1"``, ``"simple_null2"``, ``"global"``. Without one:
        ``"total_simple"``, ``"total_complex"``, ``"total_global"``, ``"total_null"``.
    n : int, default 1000
        Number of units (at least 2). Exactly ``n // 2`` are treated.
    noise_sd : float, default 0.01
        Standard deviation of every error term (the authors use 0.01). 0 gives noiseless data.
    random_state : None, int or numpy.random.Generator, default None
        Seed or Generator for all draws. ``None`` draws fresh entropy, recorded in
        ``attrs["seed_used"]`` so the data set can be regenerated.

    Returns
    -------
    pandas.DataFrame
        One row per unit. Columns: ``x1`` ... ``x10`` (covariates), ``treat`` (int 0/1),
        ``m`` (mediator scenarios only), ``y``, then the true conditional effects given the
        covariates -- for mediator scenarios ``cie``, ``cde``, ``te``, ``cie_control`` and
        ``cde_treated``; for no-mediator scenarios ``te`` only -- and ``subgroup``
        (int, the true subgroup S). ``attrs`` holds ``scenario`` (canonical name),
        ``noise_sd`` and ``seed_used``.

    Raises
    ------
    ParameterError
        If ``scenario``, ``n``, ``noise_sd`` or ``random_state`` is invalid.

    See Also
    --------
    SCENARIOS : one-line description of each scenario.
    scenario_kind : ``"mediator"`` or ``"total"`` for a scenario name.

    Notes
    -----
    Covariates ``x1..x10`` are i.i.d. N(0, 1); treatment is complete randomisation
    (a random permutation of ``n // 2`` ones and ``n - n // 2`` zeros). With
    S = 1{x1 > 0 and x2 > 0} (P(S) = 1/4), h(x) = S (x1 + x2) and
    b_M = x3 + x4 + 0.5 x1 + 0.5 x2, the mediator scenarios are

    ==============  ===============  ====================================================
    scenario        M(t)             Y(t, m), linear predictor L
    ==============  ===============  ====================================================
    simple_all      b_M + t h + e_M  L = 1 + m + 0.5 x3 + 0.5 x4 + e_Y; Y = L
    simple_part     b_M + t h + e_M  L = 1 + m + 0.5 x3 + 0.5 x4 + t h + e_Y; Y = L
    complex_all     b_M + t h + e_M  as simple_all, Y = 1 / (1 + exp(L))
    complex_part    b_M + t h + e_M  as simple_part, Y = 1 / (1 + exp(L))
    simple_null1    b_M + e_M        L = 1 + m + 0.5 x3 + 0.5 x4 + t h + e_Y; Y = L
    simple_null2    b_M + e_M        L = 1 + 0.5 x3 + 0.5 x4 + t h + e_Y; Y = L
    global          b_M + t + e_M    L = 1 + m + 0.5 x3 + 0.5 x4 + e_Y; Y = L
    global_nonlin.  b'_M + t + e_M   L = 1 + m + 0.5 x3 + 0.5 x4 + abs(x6) + cos(pi x5) + e_Y
    direct_only     b_M + t + e_M    L = 1 + m + 0.5 x3 + 0.5 x4 + t h + e_Y; Y = L
    outcome_path    b_M + t + e_M    L = 1 + (1 + h) m + 0.5 x3 + 0.5 x4 + e_Y; Y = L
    ==============  ===============  ====================================================

    with b'_M = b_M + sin(pi x5) + x6^2 / 2 (``global_nonlinear``). The last three are
    not in the paper: they are the validity table's designs for the heterogeneity test
    (a constant non-zero indirect effect with nonlinear prognostic terms; a heterogeneous
    direct effect with a constant indirect effect; heterogeneity in the M -> Y slope
    only, where the treatment's effect on M is the same for everyone).

    and the no-mediator scenarios are Y(t) = 1 + x3 + x4 + 0.5 x1 + 0.5 x2 + t h + e_Y
    (``total_simple``), its image under 1 / (1 + exp(.)) (``total_complex``),
    1 + t + x3 + x4 + e_Y (``total_global``) and 1 + x3 + x4 + 0.5 x1 + 0.5 x2 + e_Y
    (``total_null``). All errors are independent N(0, noise_sd^2).

    The true effects are conditional on x and average over both error terms:
    ``cie`` = E[Y(1, M(1)) - Y(1, M(0)) | x] (the treated-version natural indirect effect,
    the M-learner's estimand), ``cde`` = E[Y(1, M(0)) - Y(0, M(0)) | x],
    ``cie_control`` = E[Y(0, M(1)) - Y(0, M(0)) | x],
    ``cde_treated`` = E[Y(1, M(1)) - Y(0, M(1)) | x] and ``te`` = E[Y(1) - Y(0) | x]
    = cie + cde = cie_control + cde_treated. In the linear scenarios they follow by algebra
    (e.g. cie = h, cde = 0 in ``simple_all``). In the sigmoid scenarios
    E[Y(t, M(t')) | x] = E[1 / (1 + exp(L))] with L normal of variance 2 noise_sd^2
    (noise_sd^2 without a mediator), computed by 60-node Gauss-Hermite quadrature (by the
    trapezoid rule on a fine grid when that standard deviation exceeds 1.5, where Gauss-Hermite
    loses accuracy); the error is below 1e-12 either way.

    References
    ----------
    Li, X., Liu, ..., Wei, P. (2025). M-learner: A flexible and powerful framework to study
    heterogeneous treatment effect in mediation model. arXiv:2505.17917.

    Examples
    --------
    >>> from mediationhte import simulate
    >>> d = simulate("simple_all", n=200, random_state=1)
    >>> d.shape
    (200, 19)
    >>> int(d["treat"].sum())
    100
    >>> bool(((d["cie"] - d["subgroup"] * (d["x1"] + d["x2"])).abs() < 1e-12).all())
    True
    >>> d.attrs["scenario"], d.attrs["seed_used"]
    ('simple_all', 1)
    """
    name = _check_scenario(scenario)
    n = check_positive_int("n", n, minimum=2)
    noise_sd = _check_noise_sd(noise_sd)
    rng, seed_used = resolve_seed(random_state)

    X = rng.standard_normal((n, _N_COVARIATES))
    n_treated = n // 2
    treat = rng.permutation(np.r_[np.ones(n_treated, dtype=np.int64), np.zeros(n - n_treated, dtype=np.int64)])
    subgroup = ((X[:, 0] > 0) & (X[:, 1] > 0)).astype(np.int64)
    h = subgroup * (X[:, 0] + X[:, 1])

    if name in _MEDIATOR_DGP:
        columns = _mediator_frame(_MEDIATOR_DGP[name], X, treat, h, rng, noise_sd)
    else:
        columns = _total_frame(_TOTAL_DGP[name], X, treat, h, rng, noise_sd)

    frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(_N_COVARIATES)])
    frame["treat"] = treat
    for key, values in columns.items():
        frame[key] = np.asarray(values, dtype=float)
    frame["subgroup"] = subgroup
    frame.attrs = {"scenario": name, "noise_sd": noise_sd, "seed_used": seed_used}
    return frame
