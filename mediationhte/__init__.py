"""mediationhte: causal mediation analysis with heterogeneous effects."""

from ._version import __version__
from .api import mediate
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
from .results import BootstrapResults, MediationResults
from .simulation import simulate
from .tables import ModelTable, Summary

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
    "mediate",
    "simulate",
    "BootstrapResults",
    "MediationResults",
    "ModelTable",
    "Summary",
]
