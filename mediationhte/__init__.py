"""mediationhte: causal mediation analysis with heterogeneous effects.

The public functions live in :mod:`mediationhte.api`; each analysis has its own
subpackage (:mod:`~mediationhte.mediation`, :mod:`~mediationhte.mlearner`,
:mod:`~mediationhte.cate`, :mod:`~mediationhte.crt`, :mod:`~mediationhte.dynamic`)
beside the shared stages (:mod:`~mediationhte.formula`, :mod:`~mediationhte.core`,
:mod:`~mediationhte.inference`, :mod:`~mediationhte.subgroups`,
:mod:`~mediationhte.report`, :mod:`~mediationhte.datasets`). Every class a public
function or method returns is exported here.
"""

from mediationhte._version import __version__
from mediationhte.api.cate import cate
from mediationhte.api.dynamic import dynamic_mediation
from mediationhte.api.mediate import mediate
from mediationhte.cate.balance import BalanceResults
from mediationhte.cate.propensity import PropensityResults
from mediationhte.cate.refute import RefutationResults
from mediationhte.cate.results import CateResults
from mediationhte.cate.uplift import UpliftResults
from mediationhte.core.results import FitResults
from mediationhte.crt.results import CrtResults
from mediationhte.datasets.crt import simulate_crt
from mediationhte.datasets.dynamic import simulate_dynamic
from mediationhte.datasets.loaders import load_jobs, load_randhie
from mediationhte.datasets.mediation import simulate
from mediationhte.dynamic.results import DynamicMediationResults
from mediationhte.errors import (
    AssumptionWarning,
    ContrastWarning,
    FormulaWarning,
    ConvergenceWarning,
    DataError,
    DroppedRowsWarning,
    FormulaError,
    MediationHTEError,
    ParameterError,
)
from mediationhte.inference.bootstrap_results import BootstrapResults
from mediationhte.inference.heterogeneity import HeterogeneityTest
from mediationhte.mediation.effect_tests import EffectDifference, EffectDifferences, EffectsByLevel
from mediationhte.mediation.parallel import ParallelMediationResults
from mediationhte.mediation.results import MediationResults
from mediationhte.mediation.sensitivity_results import SensitivityResults
from mediationhte.mlearner.results import MLMediationResults
from mediationhte.report.model_table import ModelTable
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary
from mediationhte.subgroups.results import SubgroupResults

__all__ = [
    "__version__",
    "AssumptionWarning",
    "ContrastWarning",
    "FormulaWarning",
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
    "BalanceResults",
    "BootstrapResults",
    "HeterogeneityTest",
    "CateResults",
    "CrtResults",
    "DynamicMediationResults",
    "EffectDifference",
    "EffectDifferences",
    "EffectsByLevel",
    "FitResults",
    "MLMediationResults",
    "MediationResults",
    "ModelTable",
    "ParallelMediationResults",
    "PropensityResults",
    "RefutationResults",
    "SensitivityResults",
    "StatsTable",
    "SubgroupResults",
    "Summary",
    "UpliftResults",
]
