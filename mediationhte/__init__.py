"""mediationhte: causal mediation analysis with heterogeneous effects."""

from mediationhte._version import __version__
from mediationhte.api.mediate import mediate
from mediationhte.api.cate import cate
from mediationhte.datasets.loaders import load_jobs, load_randhie
from mediationhte.errors import (
    AssumptionWarning,
    ConvergenceWarning,
    DataError,
    DroppedRowsWarning,
    FormulaError,
    MediationHTEError,
    ParameterError,
)
from mediationhte.cate.results import CateResults
from mediationhte.mediation.results import BootstrapResults, MediationResults
from mediationhte.datasets.crt import simulate_crt
from mediationhte.api.dynamic import dynamic_mediation
from mediationhte.dynamic.results import DynamicMediationResults
from mediationhte.datasets.dynamic import simulate_dynamic
from mediationhte.mediation.parallel import ParallelMediationResults
from mediationhte.mediation.sensitivity_results import SensitivityResults
from mediationhte.datasets.mediation import simulate
from mediationhte.report.summary import ModelTable, Summary

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
