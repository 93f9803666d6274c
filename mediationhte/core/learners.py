"""Machine-learning nuisance models: a registry of learners, seeding, cross-fitting folds.

Strings name sensible defaults; any scikit-learn estimator is accepted and cloned
before every fit. A binary target uses a classifier's ``predict_proba`` (a regressor
given for a binary target predicts a clipped linear probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_classifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

from mediationhte.errors import ParameterError

LEARNER_NAMES = ("linear", "forest", "boosting")
_BOOSTING = dict(max_iter=100, learning_rate=0.1, max_depth=4, max_leaf_nodes=None, min_samples_leaf=20,
                 early_stopping=False)


class LinearPlusBoosting(RegressorMixin, BaseEstimator):
    """A least-squares linear fit plus gradient boosting of its residuals (the boosting settings of ``"boosting"``).

    Trees approximate a linear trend by a staircase whose steps sit at the training
    rows' quantiles, so at the edge of the data (where density ratios are largest)
    a boosted model of a mostly linear mean is flat and biased. Fitting the linear
    trend first leaves the trees only the curvature.

    Parameters
    ----------
    early_stopping : bool, default True
        Stop boosting the residuals when 10% of the rows held out stop improving for 10
        rounds (scikit-learn's rule). When the residual of the trend is mostly noise the
        full 100 rounds fit that noise; in dynamic mediation a noisy mediator mean biases
        the delayed effects through the density ratio.
    random_state : int or None
        Passed to the boosting stage.

    Examples
    --------
    >>> import numpy as np
    >>> from mediationhte.core.learners import LinearPlusBoosting
    >>> X = np.linspace(0, 10, 200)[:, None]
    >>> model = LinearPlusBoosting(random_state=0).fit(X, 3 * X[:, 0])
    >>> round(float(model.predict([[20.0]])[0]), 6)   # extrapolates the trend; trees alone give about 29
    60.0
    """

    def __init__(self, early_stopping=True, random_state=None):
        self.early_stopping = early_stopping
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the linear trend, then boosting on its residuals."""
        self.linear_ = LinearRegression().fit(X, y)
        settings = {**_BOOSTING, "early_stopping": bool(self.early_stopping)}
        self.boosting_ = HistGradientBoostingRegressor(**settings, random_state=self.random_state).fit(
            X, np.asarray(y, dtype=float) - self.linear_.predict(X))
        return self

    def predict(self, X):
        """Linear trend plus boosted residual."""
        return self.linear_.predict(X) + self.boosting_.predict(X)


def registry_learner(name: str, kind: str):
    """A new, unfitted estimator for a learner name and ``kind`` "regression" or not.

    Names are those of :data:`LEARNER_NAMES` and ``"linear_boosting"``
    (:class:`LinearPlusBoosting` for regressions, the boosting classifier for classes).
    """
    if name == "linear_boosting":
        return LinearPlusBoosting() if kind == "regression" else registry_learner("boosting", kind)
    if name == "linear":
        return LinearRegression() if kind == "regression" else LogisticRegression(C=1e6, max_iter=2000)
    if name == "forest":
        # Extremely randomised trees: 60 trees on every feature (the mediator must be a split candidate at every
        # node), leaves of 2 for regressions, of 20 for the propensity-type classifiers (leaves of 2 give
        # probabilities of 0 or 1 that the influence function then clips). Against the former random forest
        # (300 trees, leaves of 5, half the features) on benchmarks/bench_mlearner_accuracy.py (n = 2000): about
        # 2x boosting's step-1 time instead of 8-30x, and a unit-CIE RMSE of 0.8-1.25x boosting's instead of
        # 1.2-1.6x (random forests average the mediator's effect away when it is one of eleven candidates).
        if kind == "regression":
            return ExtraTreesRegressor(n_estimators=60, min_samples_leaf=2, max_features=1.0, n_jobs=1)
        return ExtraTreesClassifier(n_estimators=60, min_samples_leaf=20, max_features=1.0, n_jobs=1)
    # The paper's XGBoost settings (eta 0.1, max_depth 4, 100 rounds), with scikit-learn's default
    # min_samples_leaf=20 in place of XGBoost's min_child_weight=1 (steadier on arms of a few hundred rows).
    if kind == "regression":
        return HistGradientBoostingRegressor(**_BOOSTING)
    return HistGradientBoostingClassifier(**_BOOSTING)


@dataclass(frozen=True)
class LearnerSpec:
    """The learners used for each nuisance role (templates, never fitted themselves)."""

    mediator: object
    outcome: object
    treatment: object
    nested: object
    name: str

    def describe(self) -> str:
        """Short text for summaries, e.g. ``"forest (ExtraTreesRegressor)"``."""
        return f"{self.name} ({type(self.outcome).__name__})"


def resolve_learners(learner, *, binary_mediator: bool, binary_outcome: bool) -> LearnerSpec:
    """Turn ``learner`` (a name, an estimator, or a dict by role) into templates per role.

    Parameters
    ----------
    learner : str, estimator or dict
        ``"linear"``, ``"forest"``, ``"boosting"``, a scikit-learn estimator, or a
        dict with keys among ``"mediator"``, ``"outcome"``, ``"treatment"`` (missing
        roles use the first value given).
    binary_mediator, binary_outcome : bool
        Binary targets get classifiers (for learner names).

    Returns
    -------
    LearnerSpec
        ``nested`` is the regressor used for the nested regressions of predicted
        outcomes on covariates: the outcome learner, or its regression twin when the
        outcome is binary (a classifier cannot fit probabilities).
    """
    if isinstance(learner, dict):
        unknown = set(learner) - {"mediator", "outcome", "treatment"}
        if unknown or not learner:
            raise ParameterError(
                "Parameter learner as a dict takes keys 'mediator', 'outcome' and 'treatment'; "
                f"got {sorted(map(str, learner)) or 'an empty dict'}.",
                parameter="learner",
            )
        fallback = next(iter(learner.values()))
        roles = {role: learner.get(role, fallback) for role in ("mediator", "outcome", "treatment")}
        name = "custom"
    else:
        roles = {role: learner for role in ("mediator", "outcome", "treatment")}
        name = learner if isinstance(learner, str) else type(learner).__name__
    kinds = {"mediator": binary_mediator, "outcome": binary_outcome, "treatment": True}
    templates = {}
    for role, value in roles.items():
        kind = "classification" if kinds[role] else "regression"
        if isinstance(value, str):
            if value not in LEARNER_NAMES:
                raise ParameterError(
                    f"Parameter learner must be one of {', '.join(map(repr, LEARNER_NAMES))} or a scikit-learn "
                    f"estimator; got {value!r}.",
                    parameter="learner",
                )
            templates[role] = registry_learner(value, kind)
        elif hasattr(value, "fit") and hasattr(value, "get_params"):
            templates[role] = value
        else:
            raise ParameterError(
                f"Parameter learner ({role}) must be a learner name or a scikit-learn estimator with fit/predict; "
                f"got {type(value).__name__}.",
                parameter="learner",
            )
    outcome_choice = roles["outcome"]
    if isinstance(outcome_choice, str):
        nested = registry_learner(outcome_choice, "regression")
    elif is_classifier(outcome_choice):
        nested = registry_learner("boosting", "regression")
    else:
        nested = outcome_choice
    return LearnerSpec(mediator=templates["mediator"], outcome=templates["outcome"],
                       treatment=templates["treatment"], nested=nested, name=name)


def seeded_clone(template, seed: int):
    """A fresh clone of ``template`` with ``random_state`` set to ``seed`` unless the user fixed it."""
    model = clone(template)
    params = model.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=int(seed))
    return model


def fit_predict(template, seed: int, X_train: np.ndarray, y_train: np.ndarray, X_predict: np.ndarray,
                binary: bool) -> np.ndarray:
    """Fit a clone on the training rows and predict the mean (probability of 1 for a binary target)."""
    return fitted_predictor(template, seed, X_train, y_train, binary)(X_predict)


def fitted_predictor(template, seed: int, X_train: np.ndarray, y_train: np.ndarray, binary: bool):
    """Fit a clone once and return a function predicting the mean (P(1) for a binary target) on new rows."""
    model = seeded_clone(template, seed)
    if binary and is_classifier(model):
        if len(np.unique(y_train)) < 2:
            constant = float(y_train[0])
            return lambda X: np.full(X.shape[0], constant)
        model.fit(X_train, y_train.astype(int))
        column = list(model.classes_).index(1)
        return lambda X: model.predict_proba(X)[:, column]
    model.fit(X_train, y_train)
    if binary:
        return lambda X: np.clip(np.asarray(model.predict(X), dtype=float), 0.0, 1.0)
    return lambda X: np.asarray(model.predict(X), dtype=float)


def crossfit_folds(treatment: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold id per unit, stratified by treatment arm (each arm shuffled and dealt round-robin)."""
    folds = np.empty(len(treatment), dtype=np.int64)
    for arm in np.unique(treatment):
        idx = np.flatnonzero(treatment == arm)
        perm = rng.permutation(idx)
        folds[perm] = np.arange(len(perm)) % n_folds
    return folds


def feature_matrix(frame: pd.DataFrame, columns) -> tuple[np.ndarray, tuple[str, ...]]:
    """Numeric feature matrix of the covariates: numbers as they are, categories one-hot (all levels)."""
    parts, names = [], []
    for column in columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or (pd.api.types.is_numeric_dtype(series)
                                                  and not isinstance(series.dtype, pd.CategoricalDtype)):
            parts.append(series.to_numpy(dtype=float)[:, None])
            names.append(column)
        else:
            dummies = pd.get_dummies(series.astype("category"), prefix=column, prefix_sep="=", dtype=float)
            parts.append(dummies.to_numpy())
            names.extend(dummies.columns)
    if not parts:
        return np.empty((len(frame), 0)), ()
    return np.hstack(parts), tuple(map(str, names))
