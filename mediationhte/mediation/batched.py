"""Batched model fitting for bootstrap and simulation inference.

A nonparametric bootstrap replicate that resamples rows is, for the models used
here, the same fit as the full-sample model with prior weights equal to the
resampling counts. This module fits ``B`` such weighted models at once: the
cross-products ``X' diag(w_b) X`` of all replicates come from one matrix product
``W @ P``, where ``P`` holds the per-row outer products ``x_i x_i'``
(:func:`row_crossproducts`), and the ``B`` small ``p x p`` systems are solved
together. Inputs are numpy arrays; there is no formula handling here.

Memory is linear in ``n``: replicates are processed in chunks of at most
``chunk_size`` rows of ``W`` (by default about ``2**21 / n`` replicates, that is
about 16 MB per ``(chunk, n)`` temporary), and no ``n x n`` matrix is formed.

Replicates whose weighted design is (numerically) rank deficient, or whose
binary GLM shows separation or does not converge, are *flagged* with
``ok = False`` rather than raising, so the caller decides how to drop or count
them. Nothing here warns or prints.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy import special

from mediationhte.errors import ParameterError

__all__ = [
    "GLMResult",
    "WLSResult",
    "batched_glm_binary",
    "batched_wls",
    "row_crossproducts",
]

#: Upper bound on the number of elements of one ``(chunk, n)`` temporary.
_CHUNK_ELEMENTS = 2**21

#: A replicate is rank deficient when a squared Cholesky pivot of its
#: Jacobi-scaled cross-product matrix falls below this value, i.e. when some
#: column keeps less than this fraction of its weighted sum of squares after
#: projection on the preceding columns (weighted R^2 > 1 - 1e-10).
_PIVOT_TOL = 1e-10

#: Convergence also requires that the last Newton step moved no linear predictor
#: (of a row with positive weight) by more than this. Under separation the MLE does
#: not exist and the steps do not shrink (about 1 per iteration for the logit link,
#: about 1/|eta| for the probit link), so such replicates never converge.
_ETA_STEP_TOL = 1e-6

_LINKS = ("logit", "probit")
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_INV_SQRT2 = 1.0 / np.sqrt(2.0)
_MAX_HALVINGS = 30


class WLSResult(NamedTuple):
    """Result of :func:`batched_wls`; unpacks as ``beta, sigma, ok``.

    Attributes
    ----------
    beta : ndarray of shape (B, p)
        Weighted least-squares coefficients, one row per replicate.
    sigma : ndarray of shape (B,)
        Residual standard deviation ``sqrt(sum(w r^2) / (sum(w) - p))``; NaN when
        ``sum(w) <= p``.
    ok : ndarray of shape (B,), bool
        False for replicates whose weighted design is rank deficient (``beta``
        is then a pseudo-inverse solution and must not be used) or that have
        ``sum(w) <= p``.
    """

    beta: np.ndarray
    sigma: np.ndarray
    ok: np.ndarray


class GLMResult(NamedTuple):
    """Result of :func:`batched_glm_binary`; unpacks as ``beta, ok``.

    Attributes
    ----------
    beta : ndarray of shape (B, p)
        Maximum-likelihood coefficients, one row per replicate (the last iterate
        when ``ok`` is False).
    ok : ndarray of shape (B,), bool
        False for replicates that did not converge, show separation (fitted
        probabilities numerically 0 or 1 for a row with positive weight) or have
        a rank-deficient weighted design.
    """

    beta: np.ndarray
    ok: np.ndarray


# --------------------------------------------------------------------------------------
# argument checks (internal building blocks: failures are programming errors, but they
# are still reported with the package's error class and the parameter name)
# --------------------------------------------------------------------------------------
def _check_X(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ParameterError(f"Parameter X must be a 2-D array; got shape {X.shape}.", parameter="X")
    return X


def _check_y(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ParameterError(f"Parameter y must have shape ({n},); got {y.shape}.", parameter="y")
    return y


def _check_W(W, n: int) -> np.ndarray:
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] != n:
        raise ParameterError(
            f"Parameter W must be a 2-D array of shape (B, {n}); got shape {W.shape}.", parameter="W"
        )
    return W


def _check_P(P, X: np.ndarray) -> np.ndarray:
    n, p = X.shape
    if P is None:
        return row_crossproducts(X)
    P = np.asarray(P, dtype=np.float64)
    if P.shape != (n, p * p):
        raise ParameterError(
            f"Parameter P must be row_crossproducts(X), of shape ({n}, {p * p}); got {P.shape}.",
            parameter="P",
        )
    return P


def _chunk_rows(n: int, chunk_size: int | None) -> int:
    if chunk_size is None:
        return max(1, _CHUNK_ELEMENTS // max(n, 1))
    if int(chunk_size) < 1:
        raise ParameterError(
            f"Parameter chunk_size must be a positive integer or None; got {chunk_size}.",
            parameter="chunk_size",
        )
    return int(chunk_size)


# --------------------------------------------------------------------------------------
# linear algebra
# --------------------------------------------------------------------------------------
def row_crossproducts(X) -> np.ndarray:
    """Per-row outer products ``x_i x_i'``, flattened.

    Parameters
    ----------
    X : array_like of shape (n, p)
        Design matrix.

    Returns
    -------
    P : ndarray of shape (n, p * p)
        Row ``i`` is ``np.outer(X[i], X[i]).ravel()``, so that for a stack of
        weight vectors ``W`` of shape (B, n), ``(W @ P).reshape(B, p, p)`` is the
        stack of ``X' diag(W[b]) X``.

    Notes
    -----
    ``P`` takes ``n p^2`` doubles (4.9 MB for n = 899, p = 26). Compute it once
    per design and pass it to the fitters through ``P=`` when fitting repeatedly.
    """
    X = _check_X(X)
    n, p = X.shape
    return (X[:, :, None] * X[:, None, :]).reshape(n, p * p)


def _lower_index(p: int) -> np.ndarray:
    """Flat (row-major) positions of the lower triangle ``i >= j`` of a ``p x p`` matrix."""
    return np.flatnonzero(np.tril(np.ones((p, p), dtype=bool)).ravel())


def _weighted_crossprod(Wv: np.ndarray, P_low: np.ndarray, low: np.ndarray, p: int) -> np.ndarray:
    """Stack of ``X' diag(Wv[k]) X``, lower triangle only (the upper one is left at zero).

    Only the ``p (p + 1) / 2`` distinct products are computed: ``Wv @ P_low``.
    """
    A = np.zeros((Wv.shape[0], p * p))
    A[:, low] = Wv @ P_low
    return A.reshape(-1, p, p)


def _cholesky_pivots(As: np.ndarray) -> np.ndarray:
    """Squared Cholesky pivots of a stack of symmetric PSD matrices, never failing.

    A Cholesky factorisation vectorised over the stack (a Python loop over the ``p``
    columns only); a pivot that is not positive is reported as is and its column
    is not used to eliminate later ones. Only the lower triangle is read.
    """
    m, p, _ = As.shape
    L = np.zeros_like(As)
    pivots = np.empty((m, p))
    for j in range(p):
        Lj = L[:, j, :j]
        piv = As[:, j, j] - np.einsum("kl,kl->k", Lj, Lj)
        pivots[:, j] = piv
        good = piv > _PIVOT_TOL
        ljj = np.sqrt(np.where(good, piv, 1.0))
        L[:, j, j] = np.where(good, ljj, 0.0)
        if j + 1 < p:
            col = As[:, j + 1 :, j] - np.einsum("kil,kl->ki", L[:, j + 1 :, :j], Lj)
            L[:, j + 1 :, j] = np.where(good[:, None], col / ljj[:, None], 0.0)
    return pivots


def _batched_spd_solve(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``A[k] x[k] = b[k]`` for a stack of symmetric positive semi-definite ``A``.

    The systems are Jacobi-scaled (unit diagonal). A system is flagged
    (``ok = False``) when a diagonal entry is zero or a squared Cholesky pivot of
    the scaled matrix falls below ``_PIVOT_TOL``; flagged systems get the
    pseudo-inverse solution (singular values below ``_PIVOT_TOL`` times the
    largest dropped), the others a batched LU solve. Only the lower triangle of
    ``A`` is read.
    """
    diag = np.einsum("kii->ki", A)
    ok = np.all(diag > 0, axis=1)
    d = np.sqrt(np.where(diag > 0, diag, 1.0))
    As = np.tril(A) / (d[:, :, None] * d[:, None, :])
    As += np.swapaxes(np.tril(As, -1), 1, 2)
    bs = b / d

    try:  # LAPACK, for the whole stack at once; fails if any matrix is not positive definite
        pivots = np.einsum("kii->ki", np.linalg.cholesky(As)) ** 2
    except np.linalg.LinAlgError:
        pivots = _cholesky_pivots(As)
    ok &= np.all(pivots > _PIVOT_TOL, axis=1)
    x = np.empty_like(bs)
    good = np.flatnonzero(ok)
    if good.size:
        x[good] = np.linalg.solve(As[good], bs[good][:, :, None])[:, :, 0]
    bad = np.flatnonzero(~ok)
    if bad.size:
        pinv = np.linalg.pinv(As[bad], rcond=_PIVOT_TOL, hermitian=True)
        x[bad] = np.einsum("kij,kj->ki", pinv, bs[bad])
    return x / d, ok


# --------------------------------------------------------------------------------------
# weighted least squares
# --------------------------------------------------------------------------------------
def batched_wls(X, y, W, *, P=None, chunk_size: int | None = None) -> WLSResult:
    r"""Weighted least squares for many weight vectors at once.

    Parameters
    ----------
    X : array_like of shape (n, p)
        Design matrix (with the intercept column, if any).
    y : array_like of shape (n,)
        Response.
    W : array_like of shape (B, n)
        Nonnegative weights, one row per replicate, for example bootstrap
        resampling counts from :func:`mediationhte.inference.bootstrap.resample_counts` (any integer or float
        dtype; converted to float64 one chunk at a time).
    P : ndarray of shape (n, p * p), optional
        ``row_crossproducts(X)``, to reuse across calls; computed if omitted.
    chunk_size : int, optional
        Number of replicates processed together (default: about ``2**21 / n``).

    Returns
    -------
    WLSResult
        Named tuple ``(beta, sigma, ok)``, see :class:`WLSResult`.

    Raises
    ------
    ParameterError
        If the shapes of ``X``, ``y``, ``W`` or ``P`` do not agree.

    Notes
    -----
    For replicate ``b`` with weights ``w = W[b]``:

    .. math::

        \\hat\\beta_b = (X' \\operatorname{diag}(w) X)^{-1} X' \\operatorname{diag}(w) y,
        \\qquad
        \\hat\\sigma_b = \\sqrt{\\frac{\\sum_i w_i (y_i - x_i'\\hat\\beta_b)^2}{\\sum_i w_i - p}}.

    ``X' diag(w) X`` is ``(W @ P)[b]`` reshaped to ``(p, p)`` and ``X' diag(w) y`` is
    ``(W @ (X * y[:, None]))[b]``; the ``B`` systems are Jacobi-scaled and solved by
    a batched Cholesky factorisation. With integer resampling counts as weights,
    ``beta`` and ``sigma`` equal OLS (``lm`` in R) on the resampled rows, including
    the degrees of freedom ``sum(w) - p = n - p``.

    A replicate is flagged ``ok = False`` (never raised) when its weighted design
    is numerically rank deficient (a column keeps less than ``1e-10`` of its
    weighted sum of squares after projection on the preceding columns, for
    example a dummy whose category got zero weight) or when ``sum(w) <= p``.
    The residuals are formed one chunk of replicates at a time.
    """
    X = _check_X(X)
    n, p = X.shape
    y = _check_y(y, n)
    W = _check_W(W, n)
    P = _check_P(P, X)
    low = _lower_index(p)
    P_low = P[:, low]
    Xy = np.asfortranarray(X * y[:, None])  # Fortran order: much faster BLAS path for (B, n) @ (n, p)
    B = W.shape[0]
    step = _chunk_rows(n, chunk_size)

    beta = np.empty((B, p))
    sigma = np.empty(B)
    ok = np.empty(B, dtype=bool)
    with np.errstate(all="ignore"):
        for start in range(0, B, step):
            sl = slice(start, min(start + step, B))
            Wc = np.asarray(W[sl], dtype=np.float64)
            A = _weighted_crossprod(Wc, P_low, low, p)
            bc, okc = _batched_spd_solve(A, Wc @ Xy)
            resid = y - bc @ X.T
            ssr = np.einsum("kn,kn->k", Wc, resid * resid)
            df = Wc.sum(axis=1) - p
            okc &= df > 0
            beta[sl] = bc
            sigma[sl] = np.where(df > 0, np.sqrt(ssr / np.where(df > 0, df, 1.0)), np.nan)
            ok[sl] = okc
    return WLSResult(beta, sigma, ok)


# --------------------------------------------------------------------------------------
# binary GLM (logit / probit) by Newton-Raphson
# --------------------------------------------------------------------------------------
def _log_probs(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``log(mu)`` and ``log(1 - mu)``, accurate in both tails."""
    abs_eta = np.abs(eta)
    if link == "logit":
        # log(1 + exp(-|eta|)) once; log(mu) = -softplus(-eta), log(1-mu) = -softplus(eta)
        t = np.log1p(np.exp(-abs_eta))
        return -(np.maximum(-eta, 0.0) + t), -(np.maximum(eta, 0.0) + t)
    # probit: one erfc for the smaller tail Phi(-|eta|); log_ndtr only where it underflows
    tail = 0.5 * special.erfc(abs_eta * _INV_SQRT2)
    log_small = np.log(tail)
    deep = tail < 1e-300
    if deep.any():
        log_small[deep] = special.log_ndtr(-abs_eta[deep])
    log_big = np.log1p(-tail)
    pos = eta >= 0
    return np.where(pos, log_big, log_small), np.where(pos, log_small, log_big)


def _deviance(Wc, y, sat, log_mu, log_1mu) -> np.ndarray:
    """Binomial deviance ``2 sum w [y log(y/mu) + (1-y) log((1-y)/(1-mu))]`` per replicate."""
    ll = y * log_mu + (1.0 - y) * log_1mu
    return 2.0 * np.einsum("kn,kn->k", Wc, sat - ll)


def _score_weights(eta, y, log_mu, log_1mu, link: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the score ``s = dl/deta`` and the curvature ``v = -d2l/deta2`` per row.

    Logit: ``s = y - mu``, ``v = mu (1 - mu)``. Probit, with the inverse Mills
    ratios ``r1 = phi/Phi(eta)`` and ``r0 = phi/(1 - Phi(eta))`` computed in logs so
    they stay finite for any ``eta``: ``s = y r1 - (1 - y) r0`` and
    ``v = y r1 (eta + r1) + (1 - y) r0 (r0 - eta)`` (nonnegative: the probit
    log-likelihood is concave; clipped at 0 against rounding).
    """
    if link == "logit":
        mu = np.exp(log_mu)
        return y - mu, mu * np.exp(log_1mu)
    log_phi = -0.5 * eta * eta - _LOG_SQRT_2PI
    r1 = np.exp(log_phi - log_mu)
    r0 = np.exp(log_phi - log_1mu)
    s = y * r1 - (1.0 - y) * r0
    v = y * (r1 * (eta + r1)) + (1.0 - y) * (r0 * (r0 - eta))
    return s, np.maximum(v, 0.0)


def _irls_chunk(X, XF, P_low, low, y, sat, Wc, beta0, link, max_iter, tol):
    """Newton iterations for one chunk of replicates; returns ``beta, ok``."""
    m, p = beta0.shape
    beta = beta0.copy()
    eta = beta @ X.T
    log_mu, log_1mu = _log_probs(eta, link)
    dev = _deviance(Wc, y, sat, log_mu, log_1mu)
    converged = np.zeros(m, dtype=bool)
    hess_ok = np.ones(m, dtype=bool)
    active = np.isfinite(dev)

    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Wa = Wc[idx]
        s, v = _score_weights(eta[idx], y, log_mu[idx], log_1mu[idx], link)
        grad = (Wa * s) @ XF
        H = _weighted_crossprod(Wa * v, P_low, low, p)
        step, okh = _batched_spd_solve(H, grad)
        hess_ok[idx] = okh

        b_old = beta[idx]
        d_old = dev[idx]
        b_new = b_old + step
        e_new = b_new @ X.T
        lm_new, l1_new = _log_probs(e_new, link)
        d_new = _deviance(Wa, y, sat, lm_new, l1_new)
        # step halving where the deviance went up (beyond rounding) or is not finite
        worse = ~(d_new <= d_old + 1e-12 * np.abs(d_old))
        for _h in range(_MAX_HALVINGS):
            if not worse.any():
                break
            w_idx = np.flatnonzero(worse)
            step[w_idx] *= 0.5
            b_new[w_idx] = b_old[w_idx] + step[w_idx]
            e_new[w_idx] = b_new[w_idx] @ X.T
            lm_w, l1_w = _log_probs(e_new[w_idx], link)
            lm_new[w_idx], l1_new[w_idx] = lm_w, l1_w
            d_new[w_idx] = _deviance(Wa[w_idx], y, sat, lm_w, l1_w)
            worse[w_idx] = ~(d_new[w_idx] <= d_old[w_idx] + 1e-12 * np.abs(d_old[w_idx]))
        if worse.any():  # no decrease along the Newton direction: numerically stationary
            w_idx = np.flatnonzero(worse)
            b_new[w_idx], e_new[w_idx], d_new[w_idx] = b_old[w_idx], eta[idx[w_idx]], d_old[w_idx]
            lm_new[w_idx], l1_new[w_idx] = log_mu[idx[w_idx]], log_1mu[idx[w_idx]]

        eta_step = np.max(np.where(Wa > 0, np.abs(e_new - eta[idx]), 0.0), axis=1)
        beta[idx], eta[idx], dev[idx] = b_new, e_new, d_new
        log_mu[idx], log_1mu[idx] = lm_new, l1_new
        done = (np.abs(d_new - d_old) <= tol * (np.abs(d_new) + 0.1)) & (eta_step <= _ETA_STEP_TOL)
        done &= np.all(np.isfinite(step), axis=1)  # a failed (non-finite) step never counts
        converged[idx[done]] = True
        active[idx[done]] = False

    ok = converged & hess_ok & np.all(np.isfinite(beta), axis=1)
    return beta, ok


def batched_glm_binary(
    X,
    y,
    W,
    *,
    link: Literal["logit", "probit"] = "logit",
    beta_start=None,
    max_iter: int = 50,
    tol: float = 1e-10,
    P=None,
    chunk_size: int | None = None,
) -> GLMResult:
    r"""Binomial GLM (logit or probit) with prior weights, for many weight vectors at once.

    Parameters
    ----------
    X : array_like of shape (n, p)
        Design matrix.
    y : array_like of shape (n,)
        Response in [0, 1] (usually 0/1).
    W : array_like of shape (B, n)
        Nonnegative prior weights, one row per replicate (for example resampling
        counts).
    link : {"logit", "probit"}, default "logit"
        Link function.
    beta_start : array_like of shape (p,) or (B, p), optional
        Starting values, broadcast to all replicates; the full-sample fit makes
        bootstrap refits converge in a few iterations. Default: zeros.
    max_iter : int, default 50
        Maximum number of Newton iterations per replicate.
    tol : float, default 1e-10
        Convergence tolerance on the relative change of the deviance,
        ``|dev - dev_old| / (|dev| + 0.1) <= tol`` (the rule of R's ``glm.fit``);
        in addition the last step must have moved every linear predictor by at
        most ``1e-6``.
    P : ndarray of shape (n, p * p), optional
        ``row_crossproducts(X)``, to reuse across calls.
    chunk_size : int, optional
        Number of replicates processed together (default: about ``2**21 / n``).

    Returns
    -------
    GLMResult
        Named tuple ``(beta, ok)``, see :class:`GLMResult`.

    Raises
    ------
    ParameterError
        If shapes disagree, ``link`` is unknown, ``y`` is outside [0, 1] or
        ``max_iter``/``tol`` are invalid. Failing replicates never raise.

    Notes
    -----
    Each iteration is a Newton-Raphson step for all unconverged replicates
    together. With :math:`\\eta = X\\beta`, :math:`\\mu = F(\\eta)` (logistic or
    normal CDF) and the per-row log-likelihood
    :math:`\\ell_i = y_i \\log \\mu_i + (1 - y_i) \\log(1 - \\mu_i)`,

    .. math::

        \\beta \\leftarrow \\beta + (X' \\operatorname{diag}(w v) X)^{-1}
        X' \\operatorname{diag}(w) s, \\quad
        s_i = \\frac{\\partial \\ell_i}{\\partial \\eta_i}, \\quad
        v_i = -\\frac{\\partial^2 \\ell_i}{\\partial \\eta_i^2},

    where the weighted cross-products of all replicates come from one product
    ``(W * v) @ P``. For the logit link :math:`s = y - \\mu` and
    :math:`v = \\mu(1 - \\mu)`, so this is also Fisher scoring (IRLS). For the
    probit link the observed information is used (it is positive definite because
    the probit log-likelihood is concave, and it converges quadratically where
    Fisher scoring converges only linearly); its terms are evaluated in logs
    (``erfc``/``scipy.special.log_ndtr``), so that neither :math:`\\phi/\\Phi` nor
    :math:`v` overflows in the tails. A step that increases the deviance is halved
    (up to 30 times). The maximiser is the same as that of R's ``glm`` and
    statsmodels' ``GLM`` with ``freq_weights`` (or ``var_weights``) equal to ``w``.

    ``ok`` is False, without a warning, for a replicate that did not converge in
    ``max_iter`` iterations or whose weighted design (or observed information) is
    rank deficient at the last iterate (see :func:`batched_wls`). This is how
    complete and quasi-complete separation show up, where the MLE does not
    exist: the coefficients diverge along the separating direction, the Newton
    steps move the separated rows' linear predictors by about 1 (logit) or
    ``1/|eta|`` (probit) per iteration instead of shrinking, and the information
    along that direction vanishes. R's ``glm`` instead stops on its deviance
    rule (which the ``+ 0.1`` makes pass once the deviance is near 0) and warns
    that fitted probabilities are numerically 0 or 1; that warning also fires
    for steep fits whose MLE exists, which are kept here.
    """
    X = _check_X(X)
    n, p = X.shape
    y = _check_y(y, n)
    W = _check_W(W, n)
    P = _check_P(P, X)
    if link not in _LINKS:
        raise ParameterError(
            f"Parameter link must be 'logit' or 'probit'; got {link!r}.", parameter="link"
        )
    if not np.all((y >= 0) & (y <= 1)):
        raise ParameterError("Parameter y must lie in [0, 1] for a binomial GLM.", parameter="y")
    if int(max_iter) < 1:
        raise ParameterError(f"Parameter max_iter must be a positive integer; got {max_iter}.",
                             parameter="max_iter")
    if not tol > 0:
        raise ParameterError(f"Parameter tol must be positive; got {tol}.", parameter="tol")
    B = W.shape[0]
    if beta_start is None:
        start = np.zeros((B, p))
    else:
        try:
            start = np.broadcast_to(np.asarray(beta_start, dtype=np.float64), (B, p))
        except ValueError as exc:
            raise ParameterError(
                f"Parameter beta_start must have shape ({p},) or ({B}, {p}); "
                f"got {np.shape(beta_start)}.",
                parameter="beta_start",
            ) from exc
    sat = special.xlogy(y, y) + special.xlogy(1.0 - y, 1.0 - y)
    step = _chunk_rows(n, chunk_size)
    low = _lower_index(p)
    P_low = P[:, low]
    XF = np.asfortranarray(X)

    beta = np.empty((B, p))
    ok = np.empty(B, dtype=bool)
    with np.errstate(all="ignore"):
        for s0 in range(0, B, step):
            sl = slice(s0, min(s0 + step, B))
            Wc = np.asarray(W[sl], dtype=np.float64)
            beta[sl], ok[sl] = _irls_chunk(
                X, XF, P_low, low, y, sat, Wc, start[sl], link, int(max_iter), tol
            )
    return GLMResult(beta, ok)
