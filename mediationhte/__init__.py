"""mediationhte: causal mediation analysis with heterogeneous effects."""

from ._version import __version__
from .api import mediate
from .cate_api import cate
from .datasets import load_jobs, load_randhie
from .errors import (
    AssumptionWarning,
    ConvergenceWarning,
    DataError,
    DroppedRowsWarning,
    FormulaError,
    MediationHTEError,
    ParameterError,
)
from .cate_results import CateResults
from .results import BootstrapResults, MediationResults
from .crt_simulation import simulate_crt
from .dynamic_api import dynamic_mediation
from .dynamic_results import DynamicMediationResults
from .dynamic_simulation import simulate_dynamic
from .multiple_mediators import ParallelMediationResults
from .sensitivity_results import SensitivityResults
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
    "cate",
    "dynamic_mediation",
    "load_jobs",
    "load_randhie",
    "mediate",
    "simulate",
    "simulate_crt",
    "simulate_dynamic",
    "BootstrapResults",
    "CateResults",
    "DynamicMediationResults",
    "MediationResults",
    "ModelTable",
    "ParallelMediationResults",
    "SensitivityResults",
    "Summary",
]
