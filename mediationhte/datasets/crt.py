"""Simulated cluster-randomized trials with known CATEs.

The data-generating family is the one the CRT specification designed for its pilot and for its
acceptance checks (§9): clusters of random size randomized 1:1, cluster-level covariates
``v1, v2``, individual covariates ``x1 .. x5`` (``x4, x5`` pure noise), a cluster random intercept
``b`` and three effect functions (``"A"`` individual modifiers only, ``"B"`` adding the
cluster-level modifier ``v1``, ``"N"`` a constant effect).

:func:`simulate_crt` draws one trial with its truths, :func:`crt_test_grid` draws a fixed test set
of covariates with the true CATE, and :func:`true_tau_sd` gives the exact population SD of the
CATE, the RMSE of predicting the ATE for everyone.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from mediationhte.core.random_state import resolve_seed
from mediationhte.core.types import CrtScenario, RandomState
from mediationhte.errors import ParameterError

__all__ = ["CRT_SCENARIOS", "DEFAULT_ICC", "crt_test_grid", "simulate_crt", "true_tau_sd"]

#: One-line description of each scenario.
CRT_SCENARIOS = {
    "A": "tau = 1 + 0.5 x1 - 0.5 x2 + 0.5 1{x3 > 0} (individual-level modifiers only)",
    "B": "tau = tau_A + 0.5 v1 (adds the cluster-level modifier v1)",
    "N": "tau = 1 (null: no heterogeneity)",
}

#: Default intra-cluster correlation per scenario (A 0.5, B 0.2, N 0.3).
DEFAULT_ICC = {"A": 0.5, "B": 0.2, "N": 0.3}

# Population variance of tau: x1 ~ N(0, 1), x2 ~ Bernoulli(1/2), 1{x3 > 0} ~ Bernoulli(1/2) and
# v1 ~ N(0, 1) are independent, so Var(tau_A) = 0.25 * 1 + 0.25 * 1/4 + 0.25 * 1/4 = 0.375 and
# Var(tau_B) = 0.375 + 0.25 * 1 = 0.625.
_TAU_VARIANCE = {"A": 0.375, "B": 0.625, "N": 0.0}

_X_COLUMNS = ["x1", "x2", "x3", "x4", "x5"]
_V_COLUMNS = ["v1", "v2"]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _check_scenario(scenario) -> str:
    if isinstance(scenario, str) and scenario.strip().upper() in CRT_SCENARIOS:
        return scenario.strip().upper()
    raise ParameterError(
        f"Parameter scenario must be one of 'A', 'B' or 'N'; got {scenario!r}. "
        "Use 'A' (individual-level modifiers), 'B' (adds the cluster-level modifier v1) or 'N' (null effect).",
        parameter="scenario",
    )


def _check_int(name: str, value, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(
            f"Parameter {name} must be an integer >= {minimum}; got {value!r}. {hint}", parameter=name
        )
    return int(value)


def _check_n_clusters(n_clusters) -> int:
    m = _check_int("n_clusters", n_clusters, 4, "Pass an even integer such as 40 (half the clusters are treated).")
    if m % 2:
        raise ParameterError(
            f"Parameter n_clusters must be even, because exactly half the clusters are treated; got {m}. "
            f"Use {m - 1} or {m + 1}.",
            parameter="n_clusters",
        )
    return m


def _check_cluster_size(cluster_size) -> tuple[int, int]:
    ok = (isinstance(cluster_size, (tuple, list)) and len(cluster_size) == 2
          and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in cluster_size))
    if not ok:
        raise ParameterError(
            "Parameter cluster_size must be a pair of integers (lo, hi), the inclusive range of the "
            f"uniform cluster-size distribution; got {cluster_size!r}. Use e.g. (20, 40), or (30, 30) "
            "for equal sizes.",
            parameter="cluster_size",
        )
    lo, hi = int(cluster_size[0]), int(cluster_size[1])
    if not 1 <= lo <= hi:
        raise ParameterError(
            f"Parameter cluster_size must satisfy 1 <= lo <= hi; got (lo, hi) = ({lo}, {hi}). "
            "Put the smaller size first and use sizes of at least 1.",
            parameter="cluster_size",
        )
    return lo, hi


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(
            f"Parameter {name} must be a finite real number; got {value!r}.", parameter=name
        )
    return float(value)


def _check_icc(icc, scenario: str) -> float:
    if icc is None:
        return DEFAULT_ICC[scenario]
    value = _check_real("icc", icc)
    if not 0.0 <= value < 1.0:
        raise ParameterError(
            f"Parameter icc must lie in [0, 1) (sigma_b^2 = icc / (1 - icc) * noise_sd^2 is infinite at 1); "
            f"got {icc!r}. Use None for the scenario default ({DEFAULT_ICC[scenario]} for {scenario!r}).",
            parameter="icc",
        )
    return value


def _check_noise_sd(noise_sd) -> float:
    value = _check_real("noise_sd", noise_sd)
    if value <= 0:
        raise ParameterError(
            f"Parameter noise_sd must be > 0 (it is the individual-level error SD sigma); got {noise_sd!r}. "
            "Use the default 1.0 or another positive number.",
            parameter="noise_sd",
        )
    return value


# --------------------------------------------------------------------------------------------
# structural functions
# --------------------------------------------------------------------------------------------
def _mu(x1, x2, x3, v1, v2) -> np.ndarray:
    """Prognostic part mu(x, v) = 1 + x1 + 0.5 x2 + sin(pi x3) + 0.5 v1 + 0.5 v2."""
    return 1.0 + x1 + 0.5 * x2 + np.sin(np.pi * x3) + 0.5 * v1 + 0.5 * v2


def _tau(scenario: str, x1, x2, x3, v1) -> np.ndarray:
    """True CATE tau(x, v) of ``scenario`` (already validated)."""
    if scenario == "N":
        return np.ones(np.shape(x1))
    tau = 1.0 + 0.5 * x1 - 0.5 * x2 + 0.5 * (x3 > 0)
    if scenario == "B":
        tau = tau + 0.5 * v1
    return tau


def _draw_individual(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Individual covariates, in the fixed draw order x1, x2, x3, x4, x5."""
    return {
        "x1": rng.standard_normal(n),
        "x2": rng.binomial(1, 0.5, size=n).astype(np.int64),
        "x3": rng.uniform(-1.0, 1.0, size=n),
        "x4": rng.standard_normal(n),
        "x5": rng.standard_normal(n),
    }


def _draw_cluster_level(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Cluster-level covariates, in the fixed draw order v1, v2."""
    return {"v1": rng.standard_normal(n), "v2": rng.binomial(1, 0.5, size=n).astype(np.int64)}


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------
def simulate_crt(scenario: CrtScenario = "A", n_clusters: int = 40, cluster_size: tuple[int, int] = (20, 40), *,
                 icc: float | None = None, noise_sd: float = 1.0, random_state: RandomState = None) -> pd.DataFrame:
    r"""Simulate one cluster-randomized trial with known unit-level CATEs (the design in Notes).

    All three simulators (:func:`~mediationhte.simulate`, :func:`~mediationhte.simulate_crt`,
    :func:`~mediationhte.simulate_dynamic`) take the same argument style: the scenario name
    first, then the size(s), then keyword-only options, ``random_state=None`` last (None:
    fresh entropy, recorded in ``attrs["seed_used"]``).

    Parameters
    ----------
    scenario : {"A", "B", "N"}, default "A"
        Effect function (case-insensitive), see Notes and :data:`CRT_SCENARIOS`.
    n_clusters : int, default 40
        Number of clusters m; even and at least 4. Exactly ``n_clusters // 2`` are treated.
    cluster_size : (int, int), default (20, 40)
        Inclusive range (lo, hi), 1 <= lo <= hi; each cluster's size is uniform on
        {lo, ..., hi}.
    icc : float or None, default None
        Intra-cluster correlation on the residual scale, sigma_b^2 / (sigma_b^2 + sigma^2), in
        [0, 1). ``None`` takes the scenario's default (:data:`DEFAULT_ICC`: A 0.5,
        B 0.2, N 0.3). 0 gives no cluster effect (``b`` is 0).
    noise_sd : float, default 1.0
        Individual-level error SD sigma (> 0).
    random_state : None, int or numpy.random.Generator, default None
        Seed or Generator for all draws. ``None`` draws fresh entropy, recorded in
        ``attrs["seed_used"]`` so the trial can be regenerated.

    Returns
    -------
    pandas.DataFrame
        One row per individual, sorted by cluster. Columns, in order: ``cluster`` (int64 id
        0 .. m-1), ``treat`` (int64 0/1, constant within cluster), ``x1`` .. ``x5``
        (individual covariates; ``x2`` int64 0/1, the rest float64), ``v1`` (float64) and
        ``v2`` (int64 0/1) (cluster-level covariates), ``y`` (outcome), then the truths
        ``tau`` (true CATE tau(x, v)), ``mu0`` (mu(x, v) = E[Y(0) | x, v]) and ``b`` (the
        cluster's random intercept). ``attrs`` holds ``scenario``, ``icc``, ``sigma_b2``,
        ``sigma2``, ``noise_sd``, ``n_clusters``, ``cluster_size`` and ``seed_used``.

    Raises
    ------
    ParameterError
        If any parameter is invalid; ``.parameter`` names it.

    See Also
    --------
    crt_test_grid : a fixed test set of covariates with the true CATE.
    true_tau_sd : the population SD of the true CATE.

    Notes
    -----
    For clusters j = 1..m and individuals i = 1..n_j, with n_j ~ Uniform{lo, ..., hi},
    treatment A_j a random permutation of m/2 ones and m/2 zeros,
    V1_j ~ N(0, 1), V2_j ~ Bernoulli(1/2), b_j ~ N(0, sigma_b^2), and independent
    X1 ~ N(0, 1), X2 ~ Bernoulli(1/2), X3 ~ U(-1, 1), X4, X5 ~ N(0, 1), eps ~ N(0, sigma^2):

    .. math::

        \mu(x, v) = 1 + x_1 + 0.5 x_2 + \sin(\pi x_3) + 0.5 v_1 + 0.5 v_2, \qquad
        Y_{ij} = \mu(X_{ij}, V_j) + A_j \tau(X_{ij}, V_j) + b_j + \varepsilon_{ij},

    with sigma^2 = noise_sd^2, sigma_b^2 = icc / (1 - icc) sigma^2 and
    tau_A = 1 + 0.5 x1 - 0.5 x2 + 0.5 1{x3 > 0}, tau_B = tau_A + 0.5 v1, tau_N = 1.
    Because b_j is additive and shared by both potential outcomes, ``tau`` is both the
    cluster-conditional and the marginal CATE. The draws are made in a fixed order
    (treatment permutation, sizes, v1, v2, b, x1 .. x5, eps), so a seed fixes the trial.

    Examples
    --------
    >>> from mediationhte.datasets.crt import simulate_crt
    >>> d = simulate_crt("B", n_clusters=6, cluster_size=(3, 5), random_state=1)
    >>> list(d.columns)
    ['cluster', 'treat', 'x1', 'x2', 'x3', 'x4', 'x5', 'v1', 'v2', 'y', 'tau', 'mu0', 'b']
    >>> int(d.groupby("cluster")["treat"].first().sum())
    3
    >>> bool((d.groupby("cluster")["treat"].nunique() == 1).all())
    True
    >>> d.attrs["scenario"], d.attrs["icc"], d.attrs["sigma_b2"], d.attrs["seed_used"]
    ('B', 0.2, 0.25, 1)
    >>> resid = d["y"] - d["mu0"] - d["treat"] * d["tau"] - d["b"]
    >>> bool(resid.abs().max() < 5)
    True
    """
    name = _check_scenario(scenario)
    m = _check_n_clusters(n_clusters)
    icc = _check_icc(icc, name)
    lo, hi = _check_cluster_size(cluster_size)
    noise_sd = _check_noise_sd(noise_sd)
    rng, seed_used = resolve_seed(random_state)
    sigma2 = noise_sd**2
    sigma_b2 = icc / (1.0 - icc) * sigma2

    treat_j = rng.permutation(np.r_[np.ones(m // 2, dtype=np.int64), np.zeros(m // 2, dtype=np.int64)])
    sizes = rng.integers(lo, hi + 1, size=m)
    cluster_cov = _draw_cluster_level(rng, m)
    b_j = math.sqrt(sigma_b2) * rng.standard_normal(m)

    n = int(sizes.sum())
    cluster = np.repeat(np.arange(m, dtype=np.int64), sizes)
    cols = _draw_individual(rng, n)
    eps = noise_sd * rng.standard_normal(n)

    treat = treat_j[cluster]
    v = {key: values[cluster] for key, values in cluster_cov.items()}
    b = b_j[cluster]
    mu = _mu(cols["x1"], cols["x2"], cols["x3"], v["v1"], v["v2"])
    tau = _tau(name, cols["x1"], cols["x2"], cols["x3"], v["v1"])
    y = mu + treat * tau + b + eps

    frame = pd.DataFrame({"cluster": cluster, "treat": treat, **cols, **v,
                          "y": y, "tau": tau, "mu0": mu, "b": b})
    frame.attrs = {"scenario": name, "icc": icc, "sigma_b2": sigma_b2, "sigma2": sigma2,
                   "noise_sd": noise_sd, "n_clusters": m, "cluster_size": (lo, hi),
                   "seed_used": seed_used}
    return frame


def crt_test_grid(scenario: str = "A", n: int = 2000, random_state=99) -> pd.DataFrame:
    """Draw a fixed test set of covariates with the true CATE, for CATE RMSE.

    Parameters
    ----------
    scenario : {"A", "B", "N"}, default "A"
        Effect function (case-insensitive), as in :func:`simulate_crt`.
    n : int, default 2000
        Number of test points (at least 1); ``benchmarks/bench_crt.py`` uses 2000.
    random_state : None, int or numpy.random.Generator, default 99
        Seed or Generator; ``benchmarks/bench_crt.py`` uses seed 99 for the grid.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows of fresh, independent (x, v) draws from the covariate distributions of
        :func:`simulate_crt` (each row has its own ``v1, v2``). Columns: ``x1`` .. ``x5``,
        ``v1``, ``v2``, ``tau`` (true CATE) and ``mu0`` (mu(x, v)). ``attrs`` holds
        ``scenario``, ``n`` and ``seed_used``.

    Raises
    ------
    ParameterError
        If ``scenario``, ``n`` or ``random_state`` is invalid.

    See Also
    --------
    simulate_crt : one simulated trial.
    true_tau_sd : the population SD of ``tau``.

    Notes
    -----
    The draws are made in the order x1 .. x5, then v1, v2. The grid does not depend on the
    ICC or the noise level, so one grid serves every trial of a scenario; scenarios share the
    covariates for the same seed and differ only in ``tau``.

    Examples
    --------
    >>> from mediationhte.datasets.crt import crt_test_grid
    >>> g = crt_test_grid("A", n=500)
    >>> g.shape
    (500, 9)
    >>> tau = 1 + 0.5 * g["x1"] - 0.5 * g["x2"] + 0.5 * (g["x3"] > 0)
    >>> bool(((g["tau"] - tau).abs() < 1e-12).all())
    True
    >>> g.attrs["seed_used"]
    99
    """
    name = _check_scenario(scenario)
    n = _check_int("n", n, 1, "Pass the number of test points, e.g. 2000.")
    rng, seed_used = resolve_seed(random_state)
    cols = _draw_individual(rng, n)
    v = _draw_cluster_level(rng, n)
    tau = _tau(name, cols["x1"], cols["x2"], cols["x3"], v["v1"])
    mu = _mu(cols["x1"], cols["x2"], cols["x3"], v["v1"], v["v2"])
    frame = pd.DataFrame({**cols, **v, "tau": tau, "mu0": mu})
    frame.attrs = {"scenario": name, "n": n, "seed_used": seed_used}
    return frame


def true_tau_sd(scenario: str) -> float:
    """Exact population SD of the true CATE of a scenario.

    It is the CATE RMSE of the benchmark that predicts the true ATE (1 in every scenario) for
    everyone.

    Parameters
    ----------
    scenario : {"A", "B", "N"}
        Effect function (case-insensitive), as in :func:`simulate_crt`.

    Returns
    -------
    float
        sqrt(0.375) ~ 0.612 for ``"A"``, sqrt(0.625) ~ 0.791 for ``"B"`` and 0 for ``"N"``.

    Raises
    ------
    ParameterError
        If ``scenario`` is invalid.

    Notes
    -----
    x1 ~ N(0, 1), x2 ~ Bernoulli(1/2), 1{x3 > 0} ~ Bernoulli(1/2) (x3 ~ U(-1, 1)) and
    v1 ~ N(0, 1) are independent, so Var(tau_A) = 0.5^2 (1 + 1/4 + 1/4) = 0.375 and
    Var(tau_B) = Var(tau_A) + 0.5^2 Var(v1) = 0.625. (Earlier notes quoted 0.61 and 0.79.)

    Examples
    --------
    >>> from mediationhte.datasets.crt import true_tau_sd
    >>> round(true_tau_sd("A"), 4), round(true_tau_sd("B"), 4), true_tau_sd("N")
    (0.6124, 0.7906, 0.0)
    """
    return math.sqrt(_TAU_VARIANCE[_check_scenario(scenario)])
