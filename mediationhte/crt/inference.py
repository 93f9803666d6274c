"""Design-based inference of a cluster-randomised fit: weighted average effects and the BLP heterogeneity test.

Clusters were randomised, so these estimators are valid whatever learner gave the
CATE: OLS with CR2 cluster-robust standard errors (Bell & McCaffrey 2002) and
t references with G - 1 df (or G - k for the cluster-level regression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.crt.design import CrtDesign, CrtFit
from mediationhte.inference.cluster_robust import cluster_robust_ols, hotelling_pvalue

#: The average-effect rows of a CRT summary, with their printed labels.
ATE_ROWS = (
    ("cate_mean_individual", "Mean CATE, individual weights"),
    ("cate_mean_cluster", "Mean CATE, cluster weights"),
    ("adjusted_individual", "Covariate-adjusted regression, individual (CR2)"),
    ("adjusted_cluster", "Cluster-mean regression, cluster weights (HC2)"),
)
WEIGHTS = ("individual", "cluster")


def cluster_weights(groups: np.ndarray, kind: str) -> np.ndarray:
    """Weights summing to 1: every row alike ("individual"), or every cluster alike ("cluster")."""
    V.check_option("weights", kind, WEIGHTS)
    if kind == "individual":
        return np.full(len(groups), 1.0 / len(groups))
    _, codes, counts = np.unique(groups, return_inverse=True, return_counts=True)
    w = 1.0 / counts[codes]
    return w / w.sum()


def _independent(D: np.ndarray) -> list[int]:
    """Columns of D that are not linear combinations of earlier ones."""
    drop = set(V.aliased_columns(D))
    return [j for j in range(D.shape[1]) if j not in drop]


def adjusted_ate(d: CrtDesign, weights: str) -> tuple[float, float, int]:
    """Design-based ATE: (estimate, SE, df).

    Individual weights: OLS of y on T and the centred covariates with CR2 SEs and
    Bell & McCaffrey's (2002) Satterthwaite degrees of freedom for the treatment
    coefficient (never more than G - 1): with 20 clusters of 5-10 units the G - 1 t
    interval covered 0.93, as the CR2 SE runs a few per cent below the replicate SD
    (benchmarks/bench_crt.py, check 5). Cluster weights: OLS of the cluster means of y
    on T and the centred cluster means of the covariates, HC2 SEs, G - k df.
    """
    n_clusters = len(np.unique(d.groups))
    X = d.features - d.features.mean(axis=0)
    if weights == "individual":
        D = np.column_stack([np.ones(len(d.y)), d.t, X])
        D = D[:, _independent(D)]
        ols = cluster_robust_ols(d.y, D, d.groups, kind="CR2")
        return float(ols.beta[1]), float(ols.se[1]), min(float(ols.df_satterthwaite[1]), n_clusters - 1.0)
    ids, codes, counts = np.unique(d.groups, return_inverse=True, return_counts=True)

    def means(v):
        return np.bincount(codes, weights=v) / counts

    yc = means(d.y)
    tc = means(d.t.astype(float))
    Xc = np.column_stack([means(X[:, j]) for j in range(X.shape[1])]) if X.shape[1] else np.empty((len(ids), 0))
    D = np.column_stack([np.ones(len(ids)), tc, Xc - Xc.mean(axis=0)])
    D = D[:, _independent(D)]
    if D.shape[1] >= len(ids) - 1:  # too many cluster-level regressors for the clusters: unadjusted
        D = D[:, :2]
    ols = cluster_robust_ols(yc, D, np.arange(len(ids)), kind="CR2")
    return float(ols.beta[1]), float(ols.se[1]), len(ids) - D.shape[1]


def ate_table(d: CrtDesign, fit: CrtFit, weights: str, alpha: float) -> pd.DataFrame:
    """The weighted mean CATE (model-based SE) and the design-based adjusted ATE, with t intervals."""
    n_clusters = len(np.unique(d.groups))
    w = cluster_weights(d.groups, weights)
    rows = {f"cate_mean_{weights}": (float(w @ fit.cate), fit.mean_cate_se(w), n_clusters - 1),
            f"adjusted_{weights}": adjusted_ate(d, weights)}
    out = {}
    for key, (e, s, df) in rows.items():
        q = stats.t.ppf(1 - alpha / 2, df)
        p = float(2 * stats.t.sf(abs(e / s), df)) if np.isfinite(s) and s > 0 else np.nan
        out[key] = {"estimate": e, "std_error": s, "ci_lower": e - q * s, "ci_upper": e + q * s, "p_value": p,
                    "df": float(df)}
    frame = pd.DataFrame(out).T
    frame.index.name = "estimator"
    return frame


def blp_table(d: CrtDesign, fit: CrtFit, names: list[str], alpha: float) -> pd.DataFrame:
    """Best linear projection of the doubly robust pseudo-outcome on the modifiers, CR2 SEs, joint Wald p-value.

    The pseudo-outcome is mu1 - mu0 + T (y - mu1) / p - (1 - T)(y - mu0) / (1 - p)
    with p the treated share (known by design in a CRT). ``attrs["wald_p_value"]``
    is the joint test that every slope is 0 on a Hotelling-T^2 F reference.
    """
    n_clusters = len(np.unique(d.groups))
    p = d.t.mean()
    pseudo = fit.mu1 - fit.mu0 + d.t * (d.y - fit.mu1) / p - (1 - d.t) * (d.y - fit.mu0) / (1 - p)
    cols = [list(d.feature_names).index(m) for m in names]
    Z = d.features[:, cols]
    D = np.column_stack([np.ones(len(pseudo)), Z - Z.mean(axis=0)])
    ols = cluster_robust_ols(pseudo, D, d.groups, kind="CR2")
    df = n_clusters - 1
    q = stats.t.ppf(1 - alpha / 2, df)
    table = pd.DataFrame({"estimate": ols.beta, "std_error": ols.se,
                          "ci_lower": ols.beta - q * ols.se, "ci_upper": ols.beta + q * ols.se,
                          "p_value": 2 * stats.t.sf(np.abs(ols.beta / ols.se), df)},
                         index=pd.Index(["(ATE at the mean)"] + list(names), name="term"))
    R = np.eye(len(names) + 1)[1:]
    table.attrs["wald_p_value"] = hotelling_pvalue(float(ols.wald_test(R).statistic), len(names), n_clusters)
    return table
