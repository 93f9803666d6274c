"""mediationhte: causal mediation analysis with heterogeneous effects."""

from ._version import __version__
from .datasets import load_jobs
from .errors import (
    AssumptionWarning,
    ConvergenceWarning,
    DataError,
    DroppedRowsWarning,
    FormulaError,
    MediationHTEError,
    ParameterError,
)

__all__ = [
    "__version__",
    "AssumptionWarning",
    "ConvergenceWarning",
    "DataError",
    "DroppedRowsWarning",
    "FormulaError",
    "MediationHTEError",
    "ParameterError",
    "load_jobs",
]
