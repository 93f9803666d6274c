"""A hand-rolled REML fit of the random-intercept model, the reference for the LMM tests (independent of statsmodels).

Model: y = X beta + b_g + e, b_g ~ N(0, sigma_b2), e ~ N(0, sigma2). With lam = sigma_b2 / sigma2 each cluster's
covariance is sigma2 H_g, H_g = I + lam 11' (built densely here, cluster by cluster). Profiling beta (GLS) and sigma2
(r' H^-1 r / (N - p)) out of the REML log-likelihood

    l_R = -1/2 [ (N - p) log(2 pi) + log|V| + log|X' V^-1 X| + r' V^-1 r ],   V = sigma2 H,

leaves l_R(lam) = -1/2 [ (N - p) (log(2 pi sigma2(lam)) + 1) + log|H| + log|X' H^-1 X| ] (Harville 1977; Pinheiro &
Bates 2000, section 2.2), maximised over log(lam) by scipy's bounded Brent search. BLUPs: b_g = lam n_g / (1 + lam
n_g) * mean of the GLS residuals in cluster g.
"""

import numpy as np
from scipy import optimize


def _profile(y, X, groups, lam):
    n, p = X.shape
    xhx, xhy, yhy, logdet_h = np.zeros((p, p)), np.zeros(p), 0.0, 0.0
    blocks = []
    for g in np.unique(groups):
        rows = groups == g
        H = np.eye(rows.sum()) + lam
        Hinv = np.linalg.inv(H)
        Xg, yg = X[rows], y[rows]
        xhx += Xg.T @ Hinv @ Xg
        xhy += Xg.T @ Hinv @ yg
        yhy += yg @ Hinv @ yg
        logdet_h += np.linalg.slogdet(H)[1]
        blocks.append(rows)
    beta = np.linalg.solve(xhx, xhy)
    rhr = yhy - xhy @ beta  # r' H^-1 r at the GLS beta
    sigma2 = rhr / (n - p)
    llf = -0.5 * ((n - p) * (np.log(2 * np.pi * sigma2) + 1) + logdet_h + np.linalg.slogdet(xhx)[1])
    return beta, sigma2, llf, blocks


def reml_random_intercept(y, X, groups, bounds=(-15.0, 5.0)):
    """REML estimates: dict with beta, sigma_b2, sigma2, llf, blups (clusters in np.unique order), lam."""
    y, X, groups = np.asarray(y, float), np.asarray(X, float), np.asarray(groups)
    res = optimize.minimize_scalar(lambda t: -_profile(y, X, groups, np.exp(t))[2], bounds=bounds,
                                   method="bounded", options={"xatol": 1e-10})
    lam = float(np.exp(res.x))
    assert bounds[0] + 1e-3 < res.x < bounds[1] - 1e-3, "REML optimum on the search bound"
    beta, sigma2, llf, blocks = _profile(y, X, groups, lam)
    r = y - X @ beta
    blups = np.array([lam * rows.sum() / (1 + lam * rows.sum()) * r[rows].mean() for rows in blocks])
    return {"beta": beta, "sigma_b2": lam * sigma2, "sigma2": sigma2, "llf": llf, "blups": blups, "lam": lam}
