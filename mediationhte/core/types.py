"""Type aliases of the public signatures: what each argument accepts, spelled once.

Options that take one of a few strings are ``Literal`` types, so an editor or a type
checker lists the choices; every function still checks its options at run time and
names the parameter in its error. The aliases exist for annotations only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

import numpy as np
import pandas as pd

#: ``random_state``: None (fresh entropy), an int seed, or a numpy Generator (used as is).
RandomState = Union[int, np.random.Generator, None]
#: A column name, or one value per row of the data.
ColumnOrValues = Union[str, Sequence[Any], np.ndarray, pd.Series]
#: A scikit-learn estimator (anything with fit/predict and get_params).
Estimator = Any
#: A learner: a registry name, a scikit-learn estimator, or (``mediate``) a dict by role.
Learner = Union[Literal["linear", "forest", "boosting"], Estimator, Mapping[str, Any]]

Family = Literal["gaussian", "logit", "probit"]
CovType = Literal["nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"]
PointEstimate = Literal["original", "mean_of_draws"]
MLEstimator = Literal["crossfit", "plugin"]
BootMethod = Literal["percentile", "bca", "bca_r"]
Arm = Literal["both", "control", "treated", "average"]
FrameStyle = Literal["tidy", "r", "statsmodels"]
SensitivityEffect = Literal["indirect", "direct", "both"]
SensitivityParameter = Literal["rho", "R2"]
RType = Literal["residual", "total"]
SignProduct = Literal["positive", "negative"]
#: The effect a heterogeneity test or subgroup search is about (or a unit-effect column name).
Effect = Union[Literal["indirect", "direct", "total"], str]
Embedding = Literal["tsne", "none"]
Calibration = Literal["blp", "permutation", "split", "threshold"]
Profile = Literal["smallest", "best_cv"]
MetaLearner = Literal["s", "t", "x", "dr"]
CrtLearner = Literal["lmm", "lmm_shrink", "gamm", "merf", "megb", "rf", "gbm", "bcf_re", "bcf", "bart_re", "bart",
                     "gpboost"]
LearnerType = Literal["t", "s"]
Trim = Union[Literal["crump"], tuple[float, float], None]
ClusterWeights = Literal["individual", "cluster"]
BalanceKind = Literal["raw", "weighted", "matched"]
UpliftKind = Literal["qini", "uplift"]
Refuter = Literal["placebo", "random_common_cause"]
Decomposition = Literal["four_way", "natural"]
QBasis = Literal["spline", "polynomial", "tabular"]
RatioFeatures = Literal["auto", "rbf", "rff", "linear", "tabular"]
DynamicEstimator = Literal["MR", "DM", "MIS", "baseline"]
NuisanceRole = Literal["behaviour", "mediator", "mediator_density", "reward"]
#: A target policy: a constant probability of the action, or a function of the states to it.
Policy = Union[float, Callable[[np.ndarray], np.ndarray]]
CrtScenario = Literal["A", "B", "N"]
DynamicScenario = Literal["toy1", "toy2_iid", "semi_synthetic"]
