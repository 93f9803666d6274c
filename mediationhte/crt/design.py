"""The data classes of a cluster-randomised fit: settings, the design of the rows used, one fitted learner."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CrtSettings:
    """The analysis besides the data (picklable, for the cluster bootstrap)."""

    learner: str
    learner_type: str
    warm_start: str | None
    max_iter: int
    tol: float
    n_folds: int
    alpha: float
    n_jobs: int = 1


@dataclass(frozen=True, eq=False)
class CrtDesign:
    """Arrays of the rows used: the LMM design at the observed treatment and at T = 1 and T = 0, the ML features."""

    X_fixed: np.ndarray = field(repr=False)
    X_treated: np.ndarray = field(repr=False)
    X_control: np.ndarray = field(repr=False)
    fixed_names: tuple[str, ...]
    features: np.ndarray = field(repr=False)
    feature_names: tuple[str, ...]
    t: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    groups: np.ndarray = field(repr=False)
    smooths: tuple = ()

    def smooth_blocks(self, features: np.ndarray | None = None) -> list[np.ndarray]:
        """Penalised bases of the smooth terms at ``features`` (default: this design's rows)."""
        features = self.features if features is None else features
        names = list(self.feature_names)
        return [term.basis(features[:, names.index(term.column)]) for term in self.smooths]

    def subset(self, rows: np.ndarray, groups: np.ndarray | None = None) -> CrtDesign:
        """The design of ``rows`` (repeats allowed, as in a cluster bootstrap), optionally with new cluster ids."""
        return CrtDesign(X_fixed=self.X_fixed[rows], X_treated=self.X_treated[rows], X_control=self.X_control[rows],
                         fixed_names=self.fixed_names, features=self.features[rows],
                         feature_names=self.feature_names, t=self.t[rows], y=self.y[rows],
                         groups=self.groups[rows] if groups is None else groups, smooths=self.smooths)


@dataclass(frozen=True, eq=False)
class CrtFit:
    """One fit: fixed-part predictions per arm for every row, variance components, the reference LMM."""

    mu0: np.ndarray = field(repr=False)
    mu1: np.ndarray = field(repr=False)
    cate_se: np.ndarray | None = field(repr=False)
    lmm: object = field(repr=False)
    components: pd.DataFrame = field(repr=False)
    em_fits: tuple = field(repr=False)
    predictor: object = field(repr=False)
    #: For the model-based learners: CATE_i = L_i' theta with cov(theta_hat - theta) = cate_cov, so a weighted
    #: mean of the CATE has variance (w'L) cate_cov (w'L)'.
    cate_L: np.ndarray | None = field(repr=False, default=None)
    cate_cov: np.ndarray | None = field(repr=False, default=None)
    #: Posterior draws (n, S) of the CATE for the Bayesian learners.
    cate_draws: np.ndarray | None = field(repr=False, default=None)

    def mean_cate_se(self, weights: np.ndarray) -> float:
        """Model-based (or posterior) SE of the weighted mean CATE (NaN for the ML learners)."""
        if self.cate_draws is not None:
            return float(np.std(weights @ self.cate_draws, ddof=1))
        if self.cate_L is None:
            return float("nan")
        g = weights @ self.cate_L
        return float(np.sqrt(max(g @ self.cate_cov @ g, 0.0)))

    @property
    def cate(self) -> np.ndarray:
        """Unit CATE: fixed part at T = 1 minus at T = 0."""
        return self.mu1 - self.mu0


def variance_components(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """(model, sigma_b^2, sigma^2) rows as the variance-components table, with the ICC."""
    frame = pd.DataFrame(rows, columns=["model", "sigma_b2", "sigma2"]).set_index("model")
    frame["icc"] = frame["sigma_b2"] / (frame["sigma_b2"] + frame["sigma2"])
    return frame
