"""Sensitivity of the ACME and ADE to sequential ignorability (Imai, Keele & Yamamoto 2010; R's ``medsens``).

Three model pairs, as R: Gaussian mediator and outcome (below), Gaussian mediator with a probit outcome
(:class:`ProbitOutcome`) and probit mediator with a Gaussian outcome (:class:`ProbitMediator`).

The sensitivity parameter rho is the correlation between the errors of the mediator
and outcome models, which an unmeasured mediator-outcome confounder would create
(rho = 0 under sequential ignorability). For a Gaussian mediator and a Gaussian
outcome, each rho gives the two models as one seemingly-unrelated regression
whose error correlation is fixed at rho; it is fitted by iterated feasible GLS
(as R does) and the effects are recomputed from its coefficients with the same
counterfactual machinery as ``mediate()``. Intervals use the delta method with
the SUR coefficient covariance (R drops its cross-equation block).

Beyond R: the rho at which an effect is exactly zero, and the rho range over which
its interval covers zero, are solved by root finding on the continuous curves
(R reports the grid point nearest to zero). In R-squared terms: an unmeasured
confounder explaining the shares R2*_M and R2*_Y of the two models' *residual*
variances gives rho^2 = R2*_M R2*_Y; for shares of the *total* variances
R~2_M R~2_Y = rho^2 (1 - R2_M)(1 - R2_Y).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import log_ndtr, ndtr

from mediationhte.mediation.effects import average_effects, counterfactual_means
from mediationhte.errors import ParameterError
from mediationhte.mediation.sensitivity_results import SensitivityResults

#: Points of the fine internal grid used to bracket the exact roots.
FINE_GRID = np.linspace(-0.995, 0.995, 200)
#: The same for outcome designs not affine in the mediator (each point costs quadrature over 2p + 1 coefficient sets).
COARSE_GRID = np.linspace(-0.995, 0.995, 41)


class SeeminglyUnrelated:
    """The mediator and outcome equations as one SUR with a fixed error correlation rho (iterated FGLS).

    Cross-products are formed once; each iteration costs two residual vectors and a
    (p_m + p_y) solve, so a whole rho curve costs little more than one regression.
    """

    def __init__(self, X_m: np.ndarray, y_m: np.ndarray, X_y: np.ndarray, y_y: np.ndarray):
        self.X_m, self.y_m, self.X_y, self.y_y = X_m, y_m, X_y, y_y
        self.p_m = X_m.shape[1]
        self.n = len(y_m)
        self.mm, self.my, self.yy = X_m.T @ X_m, X_m.T @ X_y, X_y.T @ X_y
        self.m_ym, self.m_yy = X_m.T @ y_m, X_m.T @ y_y
        self.y_ym, self.y_yy = X_y.T @ y_m, X_y.T @ y_y
        self.ols = np.r_[np.linalg.solve(self.mm, self.m_ym), np.linalg.solve(self.yy, self.y_yy)]

    def _system(self, omega_inv: np.ndarray):
        a, b, c = omega_inv[0, 0], omega_inv[0, 1], omega_inv[1, 1]
        lhs = np.block([[a * self.mm, b * self.my], [b * self.my.T, c * self.yy]])
        rhs = np.r_[a * self.m_ym + b * self.m_yy, b * self.y_ym + c * self.y_yy]
        return lhs, rhs

    def _gls(self, rho: float, log_ratio: float) -> np.ndarray:
        # The GLS coefficients depend on the error covariance only through rho and sigma_y / sigma_m.
        r = np.exp(log_ratio)
        lhs, rhs = self._system(np.linalg.inv(np.array([[1.0, rho * r], [rho * r, r * r]])))
        return np.linalg.solve(lhs, rhs)

    def _log_ratio(self, theta: np.ndarray) -> float:
        e1 = self.y_m - self.X_m @ theta[:self.p_m]
        e2 = self.y_y - self.X_y @ theta[self.p_m:]
        return float(np.log(np.std(e2, ddof=1) / np.std(e1, ddof=1)))

    def fit(self, rho: float, start=None):
        """Coefficients (mediator block first) and their covariance at error correlation ``rho``.

        Iterated FGLS (R's medsens) stops at the fixed point where the residual SD ratio
        reproduces itself; near |rho| = 1 the iteration converges very slowly, so the
        fixed point is solved directly in the one number it depends on (Brent's method
        on the log SD ratio), which gives the same coefficients.
        """
        theta0 = self.ols if start is None else start
        x0 = self._log_ratio(theta0)

        def gap(x):
            return self._log_ratio(self._gls(rho, x)) - x

        lo, hi = x0 - 0.5, x0 + 0.5
        while gap(lo) < 0 and lo > x0 - 20:
            lo -= 1.0
        while gap(hi) > 0 and hi < x0 + 20:
            hi += 1.0
        x = optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)
        theta = self._gls(rho, x)
        e1 = self.y_m - self.X_m @ theta[:self.p_m]
        e2 = self.y_y - self.X_y @ theta[self.p_m:]
        s1, s2 = np.std(e1, ddof=1), np.std(e2, ddof=1)
        lhs, _ = self._system(np.linalg.inv(np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])))
        return theta, np.linalg.inv(lhs)


def _bilinear(cf, theta: np.ndarray, p_m: int) -> dict:
    """Effects and their exact gradients when the outcome design is affine in the mediator.

    With m_t = X_m[t] alpha and X_y(t, m) = A[t] + m B[t]: ACME(t) = mean((m_1 - m_0) B[t] beta) and
    ADE(t) = mean((A[1] - A[0]) beta + m_t (B[1] - B[0]) beta), bilinear in (alpha, beta).
    """
    alpha, beta = theta[:p_m], theta[p_m:]
    n = cf.n
    Xm0, Xm1 = cf.X_mediator
    A0, A1 = cf.A
    B0, B1 = cf.B
    dXm, dA, dB = Xm1 - Xm0, A1 - A0, B1 - B0
    dm, dB_beta = dXm @ alpha, dB @ beta
    out = {}
    for t, (Bt, Xmt) in enumerate(((B0, Xm0), (B1, Xm1))):
        bt, mt = Bt @ beta, Xmt @ alpha
        out[("acme", t)] = (float(np.mean(dm * bt)), np.r_[dXm.T @ bt, Bt.T @ dm] / n)
        out[("ade", t)] = (float(np.mean(dA @ beta + mt * dB_beta)),
                           np.r_[Xmt.T @ dB_beta, dA.sum(axis=0) + dB.T @ mt] / n)
    return {"acme_control": out[("acme", 0)], "acme_treated": out[("acme", 1)], "ade_control": out[("ade", 0)],
            "ade_treated": out[("ade", 1)],
            "acme_average": tuple(0.5 * (a + b) for a, b in zip(out[("acme", 0)], out[("acme", 1)])),
            "ade_average": tuple(0.5 * (a + b) for a, b in zip(out[("ade", 0)], out[("ade", 1)]))}


def _finite_differences(cf, theta: np.ndarray, p_m: int) -> dict:
    """The same by counterfactual means and central differences (outcome designs not affine in the mediator)."""
    p = len(theta)
    h = 1e-5 * np.maximum(np.abs(theta), 1.0)
    steps = np.vstack([theta, theta + np.diag(h), theta - np.diag(h)])
    mu = counterfactual_means(cf, steps[:, :p_m], steps[:, p_m:], np.ones(len(steps)), "gaussian", "gaussian")
    values = average_effects(mu)
    return {k: (float(values[k][0]), (values[k][1:p + 1] - values[k][p + 1:]) / (2 * h)) for k in
            ("acme_control", "acme_treated", "ade_control", "ade_treated", "acme_average", "ade_average")}


def effect_curve(sur: SeeminglyUnrelated, cf, rhos, keys, alpha_level: float) -> dict:
    """Estimate, delta-method SE and normal interval of each effect in ``keys`` at every rho."""
    rhos = np.asarray(rhos, dtype=float)
    z = stats.norm.ppf(1 - alpha_level / 2)
    out = {k: {"estimate": np.empty(len(rhos)), "std_error": np.empty(len(rhos))} for k in keys}
    start = None
    evaluate = _bilinear if cf.affine else _finite_differences
    for i, rho in enumerate(rhos):
        theta, cov = sur.fit(rho, start)
        start = theta   # warm start for the next rho
        values = evaluate(cf, theta, sur.p_m)
        for k in keys:
            value, grad = values[k]
            out[k]["estimate"][i] = value
            out[k]["std_error"][i] = np.sqrt(max(grad @ cov @ grad, 0.0))
    for k in keys:
        est, se = out[k]["estimate"], out[k]["std_error"]
        out[k]["ci_lower"], out[k]["ci_upper"] = est - z * se, est + z * se
    return out


def _roots(f, grid: np.ndarray, values: np.ndarray) -> list[float]:
    """Every root of f bracketed by a sign change of ``values`` on ``grid`` (Brent's method)."""
    roots = []
    for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) <= 0):
        if values[i] == 0:
            roots.append(float(grid[i]))
        elif values[i + 1] != 0:
            roots.append(float(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-10)))
    return sorted(set(np.round(roots, 12)))


def covering_intervals(grid: np.ndarray, covers: np.ndarray, edges) -> tuple:
    """The rho intervals where the CI covers 0: each run of covering grid points, out to the exact roots around it."""
    intervals, i = [], 0
    while i < len(covers):
        if not covers[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(covers) and covers[j + 1]:
            j += 1
        lo = -1.0 if i == 0 else max([e for e in edges if e <= grid[i]], default=grid[i])
        hi = 1.0 if j == len(covers) - 1 else min([e for e in edges if e >= grid[j]], default=grid[j])
        intervals.append((float(lo), float(hi)))
        i = j + 1
    return tuple(intervals)


def crossing_frame(cross: dict, shrink: float):
    """The crossings table, with the covering rho ranges also in R^2 terms (R2*_M R2*_Y and R~2_M R~2_Y ranges)."""
    for row in cross.values():
        star = []
        for lo, hi in row["ci_covers_zero"]:
            top = max(lo * lo, hi * hi)
            star.append((0.0 if lo <= 0 <= hi else min(lo * lo, hi * hi), top))
        row["ci_covers_zero_r2_star"] = tuple(star)
        row["ci_covers_zero_r2_tilde"] = tuple((a * shrink, b * shrink) for a, b in star)
    return pd.DataFrame(cross).T.rename_axis("effect")


def assemble(curve, rho: np.ndarray, keys, fine_grid: np.ndarray, r_squared: tuple, alpha: float,
             exact_root: float | None = None, seed_used=None):
    """SensitivityResults from any model's ``curve(rhos, keys)`` (estimate, std_error, ci_lower, ci_upper per key).

    The curve on ``fine_grid`` brackets the roots of the estimate and of both interval
    bounds, which Brent's method then solves on the curve itself; ``exact_root``
    replaces the estimate's root when a closed form exists.
    """
    grid, fine = curve(rho, keys), curve(fine_grid, keys)
    shrink = (1 - r_squared[0]) * (1 - r_squared[1])
    frames, cross = [], {}
    for k in keys:
        g = grid[k]
        frame = pd.DataFrame({c: g[c] for c in ("estimate", "std_error", "ci_lower", "ci_upper")},
                             index=pd.MultiIndex.from_product([[k], rho], names=["effect", "rho"]))
        frame["covers_zero"] = (frame["ci_lower"] <= 0) & (frame["ci_upper"] >= 0)
        frame["r2_star_prod"] = rho ** 2
        frame["r2_tilde_prod"] = rho ** 2 * shrink
        frames.append(frame)

        def at(r, column, key=k):
            return curve(np.array([r]), [key])[key][column][0]

        roots = ((exact_root,) if exact_root is not None
                 else tuple(_roots(lambda r: at(r, "estimate"), fine_grid, fine[k]["estimate"])))
        edges = sorted(_roots(lambda r: at(r, "ci_lower"), fine_grid, fine[k]["ci_lower"])
                       + _roots(lambda r: at(r, "ci_upper"), fine_grid, fine[k]["ci_upper"]))
        covers = (fine[k]["ci_lower"] <= 0) & (fine[k]["ci_upper"] >= 0)
        root = min(roots, key=abs) if roots else np.nan
        nearest = float(rho[np.argmin(np.abs(g["estimate"]))])
        cross[k] = {"rho_zero": root, "r2_star_zero": root ** 2, "r2_tilde_zero": root ** 2 * shrink,
                    "rho_zero_grid": nearest, "r2_star_zero_grid": nearest ** 2,
                    "r2_tilde_zero_grid": nearest ** 2 * shrink, "all_roots": roots,
                    "ci_covers_zero": covering_intervals(fine_grid, covers, edges)}
    curves = {k: {"rho": fine_grid.copy(), **{c: fine[k][c] for c in ("estimate", "ci_lower", "ci_upper")}}
              for k in keys}
    return SensitivityResults(table=pd.concat(frames), crossings=crossing_frame(cross, shrink),
                              r_squared=r_squared, alpha=alpha, curves=curves, seed_used=seed_used)


def check_rho(rho) -> np.ndarray:
    """The rho grid as floats strictly inside (-1, 1); a ParameterError names ``rho`` otherwise."""
    values = np.atleast_1d(np.asarray(rho, dtype=float))
    if values.ndim != 1 or len(values) == 0 or not np.all(np.isfinite(values)) or np.any(np.abs(values) >= 1):
        raise ParameterError(f"Parameter rho must be correlations strictly inside (-1, 1); got {rho!r}.",
                             parameter="rho")
    return values


def sensitivity_analysis(fit, rho, effect: str, alpha: float, sims: int, rng: np.random.Generator, seed_used):
    """Build the SensitivityResults of a ``mediate()`` fit for the three model pairs of R's medsens.

    ``rng`` draws the coefficients of a probit outcome's intervals; ``seed_used``
    is recorded in the result.
    """
    rho = check_rho(rho) + 0.0  # + 0.0: no -0.0 in the table
    families = (fit.mediator_model.family, fit.outcome_model.family)
    if families not in (("gaussian", "gaussian"), ("gaussian", "probit"), ("probit", "gaussian")):
        raise ParameterError(
            f"sensitivity() is available for a Gaussian mediator with a Gaussian or probit outcome, or a probit "
            f"mediator with a Gaussian outcome (as R's medsens); this fit has a {families[0]} mediator and a "
            f"{families[1]} outcome model.", parameter="mediator_family")
    if fit.settings["treatment_kind"] == "continuous" or fit.settings["covariates"]:
        raise ParameterError("sensitivity() needs a binary treatment contrast without covariates= (as R's "
                             "medsens); refit without covariates= (condition through the formula instead).",
                             parameter="covariates")
    if families == ("gaussian", "probit"):
        if effect != "indirect":
            raise ParameterError("sensitivity() with a probit outcome covers the ACME only (effect='indirect'), "
                                 "as R's medsens.", parameter="effect")
        if fit.interaction:
            raise ParameterError("sensitivity() with a binary outcome is not available with a treatment x mediator "
                                 "interaction (as in R's medsens); refit without it.", parameter="outcome_formula")
        model = ProbitOutcome(fit, sims, rng)
        return assemble(lambda rhos, keys: model.curve(rhos, keys, alpha), rho, ["acme_control", "acme_treated"],
                        COARSE_GRID, model.r2, alpha, exact_root=model.root(), seed_used=seed_used)
    kinds = {"indirect": ["acme"], "direct": ["ade"], "both": ["acme", "ade"]}[effect]
    arms = ("control", "treated") if fit.interaction else ("average",)
    keys = [f"{k}_{a}" for k in kinds for a in arms]
    if families == ("probit", "gaussian"):
        model = ProbitMediator(fit)
        return assemble(lambda rhos, ks: model.curve(rhos, ks, alpha), rho, keys, COARSE_GRID, model.r2, alpha,
                        seed_used=seed_used)
    d = fit.fit_data
    sur = SeeminglyUnrelated(d.X_mediator, d.m, d.X_outcome, d.y)
    r2 = (float(fit.mediator_model.result.rsquared), float(fit.outcome_model.result.rsquared))
    return assemble(lambda rhos, ks: effect_curve(sur, fit.counterfactual, rhos, ks, alpha), rho, keys,
                    FINE_GRID if fit.counterfactual.affine else COARSE_GRID, r2, alpha, seed_used=seed_used)


class ProbitOutcome:
    """Sensitivity for a Gaussian mediator and a probit outcome (Imai, Keele & Yamamoto 2010; no interaction).

    Structural model: M = W a + e2 with e2 ~ N(0, sigma^2); Y* = W c + gamma M + e3 with e3 ~ N(0, 1) and
    corr(e2, e3) = rho; Y = 1{Y* > 0}, where W is the mediator model's design (treatment and covariates). Given rho
    the observed probit of Y on (W, M) has coefficients (c - rho a / sigma) / s and (gamma + rho / sigma) / s with
    s = sqrt(1 - rho^2), which inverts in closed form; then P(Y(t, M(t')) = 1 | W) =
    Phi((W_t c + gamma W_t' a) / sqrt(gamma^2 sigma^2 + 2 gamma rho sigma + 1)). The ACME is zero exactly where
    gamma(rho) = 0: rho = sigma gamma~ / sqrt(1 + sigma^2 gamma~^2).
    """

    def __init__(self, fit, sims: int, rng: np.random.Generator):
        med, out = fit.mediator_model, fit.outcome_model
        mediator = fit.settings["mediator"]
        names = list(out.column_names)
        if mediator not in names:
            raise ParameterError(f"sensitivity() with a probit outcome needs the mediator {mediator!r} as one column "
                                 "of the outcome model.", parameter="outcome_formula")
        self.j = names.index(mediator)
        rest = [c for c in names if c != mediator]
        if rest != list(med.column_names):
            raise ParameterError("sensitivity() with a probit outcome needs the outcome model to have exactly the "
                                 "mediator model's terms plus the mediator (as R's medsens); got outcome terms "
                                 f"{rest} and mediator terms {list(med.column_names)}.", parameter="outcome_formula")
        self.cf = fit.counterfactual
        self.keep = [i for i in range(len(names)) if i != self.j]
        self.point = (med.params[None], np.array([med.sigma]), out.params[None])
        df = med.df_resid
        a = rng.multivariate_normal(med.params, med.cov, size=sims, method="eigh")
        sigma = np.sqrt(df * med.sigma ** 2 / rng.chisquare(df, size=sims))
        b = rng.multivariate_normal(out.params, out.cov, size=sims, method="eigh")
        self.drawn = (a, sigma, b)
        fitted = fit.fit_data.X_outcome @ out.params
        self.r2 = (float(med.result.rsquared), float(np.var(fitted, ddof=1) / (1 + np.var(fitted, ddof=1))))

    def effects(self, rho: float, which: str = "point") -> dict:
        """ACME(0), ACME(1) and their average for the fitted coefficients or every draw, at ``rho``."""
        a, sigma, b = self.point if which == "point" else self.drawn
        s = np.sqrt(1 - rho ** 2)
        gamma = s * b[:, self.j] - rho / sigma
        c = s * b[:, self.keep] + (rho / sigma)[:, None] * a
        scale = np.sqrt(gamma ** 2 * sigma ** 2 + 2 * gamma * rho * sigma + 1)
        W0, W1 = self.cf.X_mediator
        m = [W0 @ a.T, W1 @ a.T]
        mu = {(t, tp): ndtr((Wt @ c.T + gamma * m[tp]) / scale).mean(axis=0)
              for t, Wt in enumerate((W0, W1)) for tp in (0, 1)}
        d0, d1 = mu[0, 1] - mu[0, 0], mu[1, 1] - mu[1, 0]
        return {"acme_control": d0, "acme_treated": d1, "acme_average": (d0 + d1) / 2}

    def curve(self, rhos, keys, alpha_level: float) -> dict:
        """Estimate at the fitted coefficients; SD and percentile interval of the draws (common across rhos)."""
        low, high = alpha_level / 2, 1 - alpha_level / 2
        out = {k: {c: np.empty(len(rhos)) for c in ("estimate", "std_error", "ci_lower", "ci_upper")} for k in keys}
        for i, r in enumerate(rhos):
            point, drawn = self.effects(r), self.effects(r, "draws")
            for k in keys:
                out[k]["estimate"][i] = point[k][0]
                out[k]["std_error"][i] = np.std(drawn[k], ddof=1)
                out[k]["ci_lower"][i], out[k]["ci_upper"][i] = np.quantile(drawn[k], [low, high])
        return out

    def root(self) -> float:
        """The exact rho at which the ACME is zero (gamma(rho) = 0)."""
        _, sigma, b = self.point
        g = sigma[0] * b[0, self.j]
        return float(g / np.sqrt(1 + g * g))


class ProbitMediator:
    """Sensitivity for a probit mediator and a Gaussian outcome (Imai, Keele & Yamamoto 2010; R's case 2).

    M = 1{W a + e2 > 0}, e2 ~ N(0, 1); Y = X theta + e3 with the mediator (and treatment x mediator terms) in X,
    e3 ~ N(0, sigma^2), corr(e2, e3) = rho. Given M the outcome error has mean rho sigma lambda and variance
    sigma^2 (1 - rho^2 lambda (lambda + mu)), where mu = W a and lambda is the probit generalised residual
    (phi(mu) / Phi(mu) if M = 1, -phi(mu) / Phi(-mu) if M = 0). So for each rho, theta is the weighted least
    squares fit of Y - rho sigma lambda (weights 1 / (1 - rho^2 lambda (lambda + mu))), and sigma the fixed point of
    its weighted residual SD (R iterates the same equations, with weights w instead of 1 / w). The effects are
    closed form: mu(t, t') = A[t] theta + Phi(W_t' a) B[t] theta. Intervals: delta method over both models'
    coefficients (the mediator's through lambda too, by central differences).
    """

    def __init__(self, fit):
        self.cf = fit.counterfactual
        self.a, self.V_a = fit.mediator_model.params, fit.mediator_model.cov
        self.W, self.M = fit.fit_data.X_mediator, fit.fit_data.m
        self.X, self.y = fit.fit_data.X_outcome, fit.fit_data.y
        self.p = self.X.shape[1]
        fitted = self.W @ self.a
        self.r2 = (float(np.var(fitted, ddof=1) / (1 + np.var(fitted, ddof=1))),
                   float(fit.outcome_model.result.rsquared))

    def _theta(self, a: np.ndarray, rho: float):

        mu = self.W @ a
        sign = np.where(self.M == 1, 1.0, -1.0)
        lam = sign * np.exp(stats.norm.logpdf(mu) - log_ndtr(sign * mu))
        var = 1 - rho ** 2 * lam * (lam + mu)
        Xw = self.X / var[:, None]
        XtWX = self.X.T @ Xw
        n = len(self.y)

        def solve(sigma):
            theta = np.linalg.solve(XtWX, Xw.T @ (self.y - rho * sigma * lam))
            resid = self.y - self.X @ theta - rho * sigma * lam
            return theta, np.sqrt(np.sum(resid ** 2 / var) / (n - self.p))

        s0 = solve(np.std(self.y))[1]
        if rho == 0:
            sigma = s0
        else:
            gap = lambda log_s: np.log(solve(np.exp(log_s))[1]) - log_s  # noqa: E731
            lo, hi = np.log(s0) - 1.0, np.log(s0) + 1.0
            while gap(lo) < 0 and lo > np.log(s0) - 20:
                lo -= 1.0
            while gap(hi) > 0 and hi < np.log(s0) + 20:
                hi += 1.0
            sigma = float(np.exp(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)))
        theta, _ = solve(sigma)
        return theta, sigma ** 2 * np.linalg.inv(XtWX)

    def _effects(self, a: np.ndarray, theta: np.ndarray) -> dict:

        p0, p1 = (ndtr(Wt @ a) for Wt in self.cf.X_mediator)
        A0, A1 = self.cf.A
        B0, B1 = self.cf.B
        out = {"acme_control": (np.mean((p1 - p0) * (B0 @ theta)), B0.T @ (p1 - p0) / len(p0)),
               "acme_treated": (np.mean((p1 - p0) * (B1 @ theta)), B1.T @ (p1 - p0) / len(p0)),
               "ade_control": (np.mean((A1 - A0) @ theta + p0 * ((B1 - B0) @ theta)),
                               ((A1 - A0).sum(axis=0) + (B1 - B0).T @ p0) / len(p0)),
               "ade_treated": (np.mean((A1 - A0) @ theta + p1 * ((B1 - B0) @ theta)),
                               ((A1 - A0).sum(axis=0) + (B1 - B0).T @ p1) / len(p0))}
        for kind in ("acme", "ade"):
            c, t = out[f"{kind}_control"], out[f"{kind}_treated"]
            out[f"{kind}_average"] = ((c[0] + t[0]) / 2, (c[1] + t[1]) / 2)
        return out

    def curve(self, rhos, keys, alpha_level: float) -> dict:
        """Estimate, delta-method SE and normal interval of each effect at every rho."""
        z = stats.norm.ppf(1 - alpha_level / 2)
        out = {k: {c: np.empty(len(rhos)) for c in ("estimate", "std_error")} for k in keys}
        h = 1e-5 * np.maximum(np.abs(self.a), 1.0)
        for i, rho in enumerate(np.asarray(rhos, dtype=float)):
            theta, V_theta = self._theta(self.a, rho)
            base = self._effects(self.a, theta)
            plus, minus = [], []
            for j in range(len(self.a)):
                step = np.zeros_like(self.a)
                step[j] = h[j]
                plus.append(self._effects(self.a + step, self._theta(self.a + step, rho)[0]))
                minus.append(self._effects(self.a - step, self._theta(self.a - step, rho)[0]))
            for k in keys:
                grad_a = np.array([(pl[k][0] - mi[k][0]) / (2 * h[j]) for j, (pl, mi) in enumerate(zip(plus, minus))])
                grad_t = base[k][1]
                out[k]["estimate"][i] = base[k][0]
                out[k]["std_error"][i] = np.sqrt(max(grad_a @ self.V_a @ grad_a + grad_t @ V_theta @ grad_t, 0.0))
        for k in keys:
            out[k]["ci_lower"] = out[k]["estimate"] - z * out[k]["std_error"]
            out[k]["ci_upper"] = out[k]["estimate"] + z * out[k]["std_error"]
        return out
