"""Confidence intervals and p-values from bootstrap or simulation draws.

Pure numerical functions of arrays of draws: percentile and BCa intervals (the
textbook BCa and the variant of R's ``mediation`` package), R ``mediation``'s
simulation p-value, the standard error of the draws, and leave-one-out weights
for jackknife refits with the batched fitters of :mod:`mediationhte.mediation.batched`.

Conventions shared by every function here:

* ``draws`` has shape ``(B,)`` or ``(B, k)``; replicates run along axis 0 and
  each of the ``k`` columns (estimands) is handled separately, vectorised.
  A 1-D input gives scalar (numpy float) outputs, a 2-D input arrays of shape
  ``(k,)``.
* NaN draws (failed replicates) are ignored: every count, mean and quantile is
  over the ``B_valid`` non-NaN draws of the column. A column without valid draws
  gives NaN. No warnings are emitted.
* Quantiles are R's type 7 (``quantile(x, p)`` in R, ``method="linear"`` in
  numpy): with ``m`` sorted values and ``h = 1 + (m - 1) p`` (1-based),
  ``Q(p) = (1 - g) x[floor(h)] + g x[ceil(h)]`` with ``g = h - floor(h)``,
  evaluated with R's exact arithmetic.

References
----------
.. [1] Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the
   American Statistical Association* 82(397), 171-185.
.. [2] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the
   Bootstrap*. Chapman & Hall, sections 13.3 and 14.3.
.. [3] Imai, K., Keele, L. and Tingley, D. (2010). A general approach to causal
   mediation analysis. *Psychological Methods* 15(4), 309-334.
.. [4] Tingley, D., Yamamoto, T., Hirose, K., Keele, L. and Imai, K. (2014).
   mediation: R package for causal mediation analysis. *Journal of Statistical
   Software* 59(5), 1-38.
.. [5] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical
   packages. *The American Statistician* 50(4), 361-365.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from mediationhte.errors import ParameterError

__all__ = [
    "BCaInterval",
    "bca_interval",
    "bca_interval_r",
    "interval_table",
    "jackknife_weights",
    "percentile_interval",
    "simulation_pvalue",
    "standard_error",
]


class BCaInterval(NamedTuple):
    """Result of :func:`bca_interval`.

    Attributes
    ----------
    lower, upper : float or ndarray of shape (k,)
        Interval end points.
    z0 : float or ndarray of shape (k,)
        Bias correction (may be ``-inf`` or ``+inf``).
    acceleration : float or ndarray of shape (k,)
        Acceleration ``a`` from the jackknife values.
    degenerate : bool or ndarray of shape (k,)
        True where all valid draws lie on one side of the estimate
        (``z0 = +-inf``); the interval is then the limit of the BCa formula,
        a single point: the smallest draw (all draws > estimate) or the largest
        draw (all draws < estimate).
    """

    lower: np.ndarray | float
    upper: np.ndarray | float
    z0: np.ndarray | float
    acceleration: np.ndarray | float
    degenerate: np.ndarray | bool


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _check_alpha(alpha) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"Parameter alpha must lie strictly between 0 and 1; got {alpha}.",
                             parameter="alpha")
    return alpha


def _as_draws(draws) -> tuple[np.ndarray, bool]:
    """Return draws as a float array of shape (B, k) and whether the input was 1-D."""
    arr = np.asarray(draws, dtype=np.float64)
    if arr.ndim == 1:
        return arr[:, None], True
    if arr.ndim == 2:
        return arr, False
    raise ParameterError(f"Parameter draws must be 1-D or 2-D; got shape {arr.shape}.",
                         parameter="draws")


def _as_columns(value, k: int, name: str) -> np.ndarray:
    """Broadcast a scalar or length-k value to shape (k,)."""
    arr = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (k,))
    except ValueError as exc:
        raise ParameterError(f"Parameter {name} must be a scalar or have length {k}; "
                             f"got shape {arr.shape}.", parameter=name) from exc


def _out(x, one_d: bool):
    """Scalar for 1-D input, array otherwise."""
    x = np.asarray(x)
    return x[..., 0][()] if one_d else x


def _sorted_valid(draws2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each column (NaNs go last) and count the valid draws per column."""
    return np.sort(draws2, axis=0), np.sum(~np.isnan(draws2), axis=0)


def _quantile7(sorted_x: np.ndarray, m: np.ndarray, q) -> np.ndarray:
    """R type-7 quantiles of each column at per-column levels.

    ``sorted_x`` is (B, k) sorted with NaNs last, ``m`` the valid counts (k,), ``q``
    broadcastable to (r, k) or (k,). Follows R's ``quantile.default`` arithmetic:
    ``index = 1 + (m - 1) q``, ``lo = floor``, ``hi = ceiling`` and
    ``(1 - h) x[lo] + h x[hi]`` only where ``index > lo`` and ``x[hi] != x[lo]``.
    """
    # Not numpy.nanquantile(method="linear"), for three measured reasons. (1) Its lerp is a + t (b - a), or
    # b - (1 - t) (b - a) for t >= 0.5, not R's (1 - h) a + h b: on 17,756 random quantiles (NaNs, ties, per-column
    # levels) 21% differ from R's arithmetic in the last bits (max relative 8.7e-15, absolute 1.8e-12 at scale
    # 1e3), and tests/test_inference.py asserts R's values exactly. (2) It takes one set of levels for every column,
    # so BCa's per-column levels need a loop over columns (47 ms against 14 ms here for 1000 x 500 draws). (3) It
    # raises on a NaN level (a BCa column without valid draws) and warns on an all-NaN column.
    k = sorted_x.shape[1]
    q = np.asarray(q, dtype=np.float64)
    shape = np.broadcast_shapes(q.shape, (k,))
    if sorted_x.shape[0] == 0:   # no draws at all (every resample failed): no interval
        return np.full(shape, np.nan)
    q = np.broadcast_to(q, shape)
    m = np.broadcast_to(m, shape)
    invalid = np.isnan(q) | (m == 0)
    qc = np.where(invalid, 0.0, np.clip(q, 0.0, 1.0))
    index = 1.0 + np.maximum(m - 1, 0) * qc
    lo = np.floor(index)
    hi = np.ceil(index)
    cols = np.broadcast_to(np.arange(k), shape)
    x_lo = sorted_x[lo.astype(np.intp) - 1, cols]
    x_hi = sorted_x[hi.astype(np.intp) - 1, cols]
    h = index - lo
    interp = (index > lo) & (x_hi != x_lo)
    with np.errstate(invalid="ignore"):
        res = np.where(interp, (1.0 - h) * x_lo + h * x_hi, x_lo)
    return np.where(invalid, np.nan, res)


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def percentile_interval(draws, alpha: float = 0.05):
    r"""Percentile confidence interval.

    Parameters
    ----------
    draws : array_like of shape (B,) or (B, k)
        Bootstrap or simulation draws; replicates along axis 0. NaN draws are
        ignored.
    alpha : float, default 0.05
        One minus the confidence level.

    Returns
    -------
    lower, upper : float or ndarray of shape (k,)
        The ``alpha/2`` and ``1 - alpha/2`` quantiles of the valid draws of each
        column; NaN for a column without valid draws.

    Raises
    ------
    ParameterError
        If ``alpha`` is not in (0, 1) or ``draws`` is not 1-D or 2-D.

    See Also
    --------
    bca_interval, bca_interval_r

    Notes
    -----
    The quantiles are R's type 7 (the default of R's ``quantile``, used by R's
    ``mediation`` for its percentile intervals) and equal
    ``numpy.nanquantile(draws, [alpha/2, 1 - alpha/2], axis=0)`` (method
    ``"linear"``) up to rounding: with ``m`` valid sorted draws
    :math:`\\theta^*_{(1)} \\le \\dots \\le \\theta^*_{(m)}` and
    :math:`h = 1 + (m - 1) p`,

    .. math::

        Q(p) = (1 - g)\\, \\theta^*_{(\\lfloor h \\rfloor)}
               + g\\, \\theta^*_{(\\lceil h \\rceil)}, \\qquad g = h - \\lfloor h \\rfloor.

    Unlike ``numpy.nanquantile``, a column of NaNs gives NaN without a warning.

    References
    ----------
    Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*,
    section 13.3. Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in
    statistical packages. *The American Statistician* 50(4), 361-365.

    Examples
    --------
    >>> percentile_interval([1.0, 2.0, 3.0, 4.0, 10.0], alpha=0.5)
    (np.float64(2.0), np.float64(4.0))
    """
    alpha = _check_alpha(alpha)
    d2, one_d = _as_draws(draws)
    sx, m = _sorted_valid(d2)
    q = _quantile7(sx, m, np.array([[alpha / 2.0], [1.0 - alpha / 2.0]]))
    return _out(q[0], one_d), _out(q[1], one_d)


def simulation_pvalue(draws, estimate):
    r"""Two-sided p-value from the signs of the draws (R ``mediation``'s rule).

    Parameters
    ----------
    draws : array_like of shape (B,) or (B, k)
        Bootstrap or simulation draws; NaN draws are ignored.
    estimate : float or array_like of shape (k,)
        Point estimate of each column.

    Returns
    -------
    float or ndarray of shape (k,)
        The p-value; NaN where the estimate is NaN or a column has no valid
        draws.

    Notes
    -----
    With :math:`B_v` valid draws,

    .. math::

        p = \\min\\Bigl(1,\\ \\frac{2 \\min(\\#\\{\\theta^*_b > 0\\},
        \\#\\{\\theta^*_b < 0\\})}{B_v}\\Bigr),

    and :math:`p = 1` exactly when the estimate is 0. This is ``pval()`` in R's
    ``mediation`` (Imai, Keele and Tingley 2010; Tingley et al. 2014), except
    that R divides by all draws, including failed (NA) ones. Draws equal to 0
    count on neither side.

    References
    ----------
    Imai, K., Keele, L. and Tingley, D. (2010). A general approach to causal
    mediation analysis. *Psychological Methods* 15(4), 309-334.
    Tingley, D. et al. (2014). mediation: R package for causal mediation
    analysis. *Journal of Statistical Software* 59(5).

    Examples
    --------
    >>> simulation_pvalue([-1.0, 2.0, 3.0, 4.0], 2.5)
    np.float64(0.5)
    """
    d2, one_d = _as_draws(draws)
    est = _as_columns(estimate, d2.shape[1], "estimate")
    m = np.sum(~np.isnan(d2), axis=0)
    pos = np.sum(d2 > 0, axis=0)
    neg = np.sum(d2 < 0, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2.0 * np.minimum(pos, neg) / m)
    p = np.where(est == 0, 1.0, p)
    p = np.where(np.isnan(est) | (m == 0), np.nan, p)
    return _out(p, one_d)


def standard_error(draws):
    r"""Standard deviation of the draws (``ddof=1``), ignoring NaN draws.

    Parameters
    ----------
    draws : array_like of shape (B,) or (B, k)
        Bootstrap or simulation draws.

    Returns
    -------
    float or ndarray of shape (k,)
        :math:`\\sqrt{\\sum_b (\\theta^*_b - \\bar\\theta^*)^2 / (B_v - 1)}` over the
        :math:`B_v` valid draws; NaN when :math:`B_v < 2` (no warning).

    Notes
    -----
    As ``sd()`` in R (which R's ``mediation`` reports as the standard error of
    the simulated or bootstrapped effects) and ``numpy.nanstd(ddof=1)``.

    Examples
    --------
    >>> standard_error([1.0, 2.0, 3.0, np.nan])
    np.float64(1.0)
    """
    d2, one_d = _as_draws(draws)
    valid = ~np.isnan(d2)
    m = valid.sum(axis=0)
    x = np.where(valid, d2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=0) / m
        dev = np.where(valid, d2 - mean, 0.0)
        sd = np.sqrt(np.sum(dev * dev, axis=0) / (m - 1))
    return _out(np.where(m >= 2, sd, np.nan), one_d)


def bca_interval(draws, estimate, jackknife, alpha: float = 0.05) -> BCaInterval:
    r"""Bias-corrected and accelerated (BCa) bootstrap interval (Efron 1987).

    Parameters
    ----------
    draws : array_like of shape (B,) or (B, k)
        Bootstrap replicates :math:`\\theta^*_b`; NaN draws are ignored.
    estimate : float or array_like of shape (k,)
        Full-sample estimate :math:`\\hat\\theta`.
    jackknife : array_like of shape (n,) or (n, k)
        Leave-one-out estimates :math:`\\hat\\theta_{(i)}` (see
        :func:`jackknife_weights`); NaN values are ignored.
    alpha : float, default 0.05
        One minus the confidence level.

    Returns
    -------
    BCaInterval
        Named tuple ``(lower, upper, z0, acceleration, degenerate)``; scalars for
        1-D ``draws``, arrays of shape (k,) otherwise.

    Raises
    ------
    ParameterError
        If ``alpha`` is not in (0, 1) or the shapes disagree.

    See Also
    --------
    bca_interval_r : the variant computed by R's ``mediation``.
    percentile_interval

    Notes
    -----
    Efron and Tibshirani (1993, section 14.3). With :math:`B_v` valid draws,

    .. math::

        \\hat z_0 = \\Phi^{-1}\\Bigl(\\frac{\\#\\{\\theta^*_b < \\hat\\theta\\}
                   + \\tfrac12 \\#\\{\\theta^*_b = \\hat\\theta\\}}{B_v}\\Bigr),
        \\qquad
        \\hat a = \\frac{\\sum_i (\\bar\\theta_{(\\cdot)} - \\hat\\theta_{(i)})^3}
                      {6 \\bigl[\\sum_i (\\bar\\theta_{(\\cdot)} - \\hat\\theta_{(i)})^2\\bigr]^{3/2}},

    .. math::

        \\alpha_1 = \\Phi\\Bigl(\\hat z_0 + \\frac{\\hat z_0 + z_{\\alpha/2}}
                    {1 - \\hat a(\\hat z_0 + z_{\\alpha/2})}\\Bigr), \\qquad
        \\alpha_2 = \\Phi\\Bigl(\\hat z_0 + \\frac{\\hat z_0 + z_{1-\\alpha/2}}
                    {1 - \\hat a(\\hat z_0 + z_{1-\\alpha/2})}\\Bigr),

    and the interval is the type-7 quantiles of the draws at :math:`\\alpha_1`
    and :math:`\\alpha_2`. With :math:`\\hat z_0 = 0` and :math:`\\hat a = 0` it
    is the percentile interval.

    Edge cases, all without warnings:

    * :math:`\\hat a = 0` when all jackknife values are equal.
    * All draws on one side of :math:`\\hat\\theta` give
      :math:`\\hat z_0 = \\pm\\infty`; both levels then tend to 0 (or 1) and the
      interval collapses to the smallest (or largest) draw; ``degenerate`` is
      True so the caller can report or replace it.
    * Where :math:`1 - \\hat a(\\hat z_0 + z) \\le 0` (extreme acceleration) the
      level is taken as its limit from inside the valid range: 1 if
      :math:`\\hat a > 0`, else 0.
    * NaN estimate, no valid draws or no valid jackknife values give NaN.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the
    American Statistical Association* 82(397), 171-185.
    Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
    Chapman & Hall, section 14.3.
    """
    alpha = _check_alpha(alpha)
    d2, one_d = _as_draws(draws)
    k = d2.shape[1]
    est = _as_columns(estimate, k, "estimate")
    jk = np.asarray(jackknife, dtype=np.float64)
    jk = jk[:, None] if jk.ndim == 1 else jk
    if jk.ndim != 2 or jk.shape[1] != k:
        raise ParameterError(
            f"Parameter jackknife must have shape (n,) or (n, {k}) to match draws; got "
            f"{np.shape(jackknife)}.",
            parameter="jackknife",
        )

    sx, m = _sorted_valid(d2)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.sum(d2 < est, axis=0) + 0.5 * np.sum(d2 == est, axis=0)
        z0 = special.ndtri(below / m)

        jv = ~np.isnan(jk)
        nj = jv.sum(axis=0)
        jbar = np.where(jv, jk, 0.0).sum(axis=0) / nj
        u = np.where(jv, jbar - jk, 0.0)
        s2 = np.sum(u * u, axis=0)
        a = np.where(s2 > 0, np.sum(u**3, axis=0) / (6.0 * s2**1.5), 0.0)
        a = np.where(nj > 0, a, np.nan)

        z = special.ndtri(np.array([alpha / 2.0, 1.0 - alpha / 2.0]))[:, None]
        zz = z0 + z
        denom = 1.0 - a * zz
        levels = special.ndtr(z0 + zz / denom)
        levels = np.where(denom <= 0, np.where(a > 0, 1.0, 0.0), levels)
    degenerate = np.isinf(z0)
    levels = np.where(degenerate, np.where(z0 > 0, 1.0, 0.0), levels)
    bad = np.isnan(est) | (m == 0) | np.isnan(a)
    levels = np.where(bad, np.nan, levels)
    q = _quantile7(sx, m, levels)
    return BCaInterval(
        lower=_out(q[0], one_d),
        upper=_out(q[1], one_d),
        z0=_out(np.where(bad, np.nan, z0), one_d),
        acceleration=_out(a, one_d),
        degenerate=_out(degenerate & ~bad, one_d),
    )


def bca_interval_r(draws, alpha: float = 0.05):
    r"""BCa-type interval exactly as computed by R's ``mediation`` (``boot.ci.type="bca"``).

    Parameters
    ----------
    draws : array_like of shape (B,) or (B, k)
        Bootstrap replicates; NaN draws are ignored.
    alpha : float, default 0.05
        One minus the confidence level (R's ``1 - conf.level``).

    Returns
    -------
    lower, upper : float or ndarray of shape (k,)

    Raises
    ------
    ParameterError
        If ``alpha`` is not in (0, 1) or ``draws`` is not 1-D or 2-D.

    See Also
    --------
    bca_interval : the textbook BCa interval.

    Notes
    -----
    A transcription of ``BC.CI()`` inside ``mediate()`` of R's ``mediation``
    (version 4.x; Tingley et al. 2014). With :math:`B` valid draws and
    :math:`\\bar\\theta^*` their mean,

    .. math::

        z_0 = \\Phi^{-1}\\bigl(\\#\\{\\theta^*_b < \\bar\\theta^*\\} / B\\bigr), \\quad
        U_b = (B - 1)(\\bar\\theta^* - \\theta^*_b), \\quad
        a = \\frac{\\sum_b U_b^3}{6 (\\sum_b U_b^2)^{3/2}},

    and the interval is the type-7 quantiles at
    :math:`\\Phi(z_0 + (z_0 + z_{\\alpha/2}) / (1 - a(z_0 + z_{\\alpha/2})))` and
    likewise with :math:`z_{1-\\alpha/2}`. It differs from the textbook BCa
    (:func:`bca_interval`): :math:`z_0` compares the draws with their own mean,
    not with the estimate, and the acceleration comes from the bootstrap draws,
    not from a jackknife (the factor :math:`B - 1` cancels in :math:`a`).

    Differences from R, both in cases where R fails: NaN draws are dropped
    (R's ``quantile`` stops on NA), and a column of identical draws returns that
    value for both end points (R gets ``qnorm(0) = -Inf`` and a NaN level).

    References
    ----------
    Tingley, D., Yamamoto, T., Hirose, K., Keele, L. and Imai, K. (2014).
    mediation: R package for causal mediation analysis. *Journal of Statistical
    Software* 59(5), 1-38.
    """
    alpha = _check_alpha(alpha)
    d2, one_d = _as_draws(draws)
    sx, m = _sorted_valid(d2)
    valid = ~np.isnan(d2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, d2, 0.0).sum(axis=0) / m
        z0 = special.ndtri(np.sum(d2 < mean, axis=0) / m)
        u = np.where(valid, (m - 1) * (mean - d2), 0.0)
        a = np.sum(u**3, axis=0) / (6.0 * np.sum(u * u, axis=0) ** 1.5)
        z = special.ndtri(np.array([alpha / 2.0, 1.0 - alpha / 2.0]))[:, None]
        levels = special.ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    constant = (m > 0) & (sx[0] == sx[np.maximum(m - 1, 0), np.arange(d2.shape[1])])
    q = _quantile7(sx, m, levels)
    q = np.where(constant, sx[0], q)
    return _out(q[0], one_d), _out(q[1], one_d)


def jackknife_weights(n: int, chunk: int) -> Iterator[np.ndarray]:
    r"""Leave-one-out weights, in chunks, for jackknife refits with the batched fitters.

    Parameters
    ----------
    n : int
        Number of rows.
    chunk : int
        Number of leave-one-out replicates per yielded block.

    Yields
    ------
    ndarray of shape (min(chunk, n - start), n), float64
        A block of weight rows ``start, start + 1, ...``: row ``r`` is all ones
        except a zero at column ``start + r``, so that fitting with it leaves row
        ``start + r`` out.

    Raises
    ------
    ParameterError
        If ``n`` or ``chunk`` is not a positive integer.

    Notes
    -----
    Feeding each block as ``W`` to :func:`mediationhte.mediation.batched.batched_wls` or
    :func:`~mediationhte.mediation.batched.batched_glm_binary` gives the leave-one-out
    estimates :math:`\\hat\\theta_{(i)}` needed for the BCa acceleration
    (:func:`bca_interval`) without forming an ``n x n`` matrix: memory is
    ``chunk * n``.

    Examples
    --------
    >>> [w.tolist() for w in jackknife_weights(3, 2)]
    [[[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]], [[1.0, 1.0, 0.0]]]
    """
    n_, chunk_ = int(n), int(chunk)
    if n_ < 1 or n_ != n:
        raise ParameterError(f"Parameter n must be a positive integer; got {n}.", parameter="n")
    if chunk_ < 1 or chunk_ != chunk:
        raise ParameterError(f"Parameter chunk must be a positive integer; got {chunk}.",
                             parameter="chunk")
    return _jackknife_blocks(n_, chunk_)


def _jackknife_blocks(n: int, chunk: int) -> Iterator[np.ndarray]:
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        w = np.ones((rows, n))
        w[np.arange(rows), start + np.arange(rows)] = 0.0
        yield w


def interval_table(estimates, draws, alpha: float, method: str = "percentile", jackknife=None):
    """Estimate, SD of the draws, interval and simulation p-value for each estimand.

    Parameters
    ----------
    estimates : pandas.Series
        Point estimates; the table is indexed like it.
    draws : ndarray (B, k)
        Bootstrap or simulation draws, one column per estimand (NaN draws ignored).
    alpha : float
        Interval level 1 - alpha.
    method : {"percentile", "quasi-bayesian", "bca", "bca_r"}
        Percentile intervals (R's type-7 quantiles; quasi-Bayesian draws use them
        too), textbook BCa with jackknife acceleration (``jackknife`` required), or
        R mediation's BCa variant.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, std_error, ci_lower, ci_upper, p_value``.
    """
    est = np.asarray(estimates, dtype=float)
    if method == "bca":
        lower, upper = bca_interval(draws, est, jackknife, alpha)[:2]
    elif method == "bca_r":
        lower, upper = bca_interval_r(draws, alpha)
    else:
        lower, upper = percentile_interval(draws, alpha)
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": standard_error(draws),
            "ci_lower": np.asarray(lower, dtype=float),
            "ci_upper": np.asarray(upper, dtype=float),
            "p_value": simulation_pvalue(draws, est),
        },
        index=estimates.index.copy(),
    )
