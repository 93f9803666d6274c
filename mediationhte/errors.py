"""Package exceptions and warnings.

Every user-facing error subclasses both :class:`MediationHTEError` and
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do
not know this package.
"""

from __future__ import annotations

import sys
import warnings


class MediationHTEError(Exception):
    """Base class of every error raised by mediationhte."""


class FormulaError(MediationHTEError, ValueError):
    """A formula is malformed or its roles (treatment, mediator, outcome) are inconsistent."""


class DataError(MediationHTEError, ValueError):
    """The data do not fit the model: a column is missing, of the wrong kind or degenerate.

    Parameters
    ----------
    msg : str
        The message shown to the user.
    column : str, optional
        The offending column, when there is one.
    role : str, optional
        The role of that column ("treatment", "mediator", "outcome", "covariate").
    """

    def __init__(self, msg: str, *, column: str | None = None, role: str | None = None):
        super().__init__(msg)
        self.column = column
        self.role = role


class ParameterError(MediationHTEError, ValueError):
    """A keyword argument has an invalid value.

    Parameters
    ----------
    msg : str
        The message shown to the user.
    parameter : str, optional
        The name of the offending parameter.
    """

    def __init__(self, msg: str, *, parameter: str | None = None):
        super().__init__(msg)
        self.parameter = parameter


class DroppedRowsWarning(UserWarning):
    """Rows with missing values were dropped before fitting."""


class ConvergenceWarning(RuntimeWarning):
    """An iterative fit (GLM, bootstrap refit) did not converge."""


class AssumptionWarning(UserWarning):
    """A modelling assumption (for example sequential ignorability) looks doubtful."""


class ContrastWarning(UserWarning):
    """The package chose which treatment value is the treated arm (text labels without treat_value)."""


class FormulaWarning(UserWarning):
    """A formula term is not used as written (ML learners see raw covariate columns)."""


def warn_at_caller(message, category=UserWarning) -> None:
    """``warnings.warn`` pointing at the user's line: the first calling frame outside this package.

    Fixed ``stacklevel`` values break whenever a call path gains a frame (the public
    functions run inside the native thread budget's wrapper, for example); this finds
    the user's frame instead, as Python 3.12's ``skip_file_prefixes`` does.
    """
    frame, level = sys._getframe(1), 2   # stacklevel 1 is this function, 2 its caller
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "mediationhte" and not module.startswith("mediationhte."):
            break
        frame, level = frame.f_back, level + 1
    del frame
    warnings.warn(message, category, stacklevel=level)
