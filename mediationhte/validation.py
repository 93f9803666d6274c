"""Checks on user input: every message names the parameter or column, its role, what was found and the fix.

Nothing here fits a model. The checks run at the public entry points, before any
maths, so that errors surface as :class:`~mediationhte.errors.DataError`,
:class:`~mediationhte.errors.FormulaError` or
:class:`~mediationhte.errors.ParameterError` instead of a traceback from deep
inside numpy or patsy.
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, DroppedRowsWarning, ParameterError


def check_option(name: str, value, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise ParameterError naming ``name`` otherwise."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ParameterError(
            f"Parameter {name} must be one of {choices}; got {value!r}.", parameter=name
        )
    return value


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``; raise ParameterError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(
            f"Parameter {name} must be an integer >= {minimum}; got {value!r}.", parameter=name
        )
    return int(value)


def check_alpha(value, name: str = "alpha") -> float:
    """Return ``value`` if it is a number strictly between 0 and 1 (the CI level is 1 - alpha)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ParameterError(
            f"Parameter {name} must be a number strictly between 0 and 1 (the interval level is "
            f"1 - {name}); got {value!r}.",
            parameter=name,
        )
    return float(value)


def check_n_jobs(value) -> int:
    """Return ``n_jobs`` if it is a nonzero integer (negative values count back from all cores, as in joblib)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0:
        raise ParameterError(
            f"Parameter n_jobs must be a nonzero integer (1 = no parallelism, -1 = all cores); got {value!r}.",
            parameter="n_jobs",
        )
    return int(value)


def check_dataframe(data) -> pd.DataFrame:
    """Require a non-empty pandas DataFrame with unique column names."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(
            f"Parameter data must be a pandas DataFrame; got {type(data).__name__}. "
            "Convert it with pandas.DataFrame(...) first.",
            parameter="data",
        )
    if data.shape[0] == 0:
        raise DataError("Parameter data has no rows.")
    duplicated = data.columns[data.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(
            f"Parameter data has duplicated column names {duplicated}; rename them so each is unique.",
            column=str(duplicated[0]),
        )
    return data


def check_columns_exist(columns: Iterable[str], data: pd.DataFrame, where: str, role: str | None = None) -> None:
    """Raise a DataError for the first column not in ``data``, suggesting close matches."""
    available = [str(c) for c in data.columns]
    for column in columns:
        if column in data.columns:
            continue
        close = difflib.get_close_matches(column, available, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        label = f" ({role})" if role else ""
        raise DataError(
            f"Column {column!r}{label} in {where} is not in data.{hint}",
            column=column,
            role=role,
        )


def drop_incomplete_rows(data: pd.DataFrame, columns: Sequence[str], stacklevel: int = 3) -> tuple[pd.DataFrame, pd.Index]:
    """Keep the rows complete in every column of ``columns`` (a copy), warning with the count and the columns.

    Returns
    -------
    frame : pandas.DataFrame
        A new frame holding only ``columns`` and the complete rows; ``data`` is untouched.
    dropped : pandas.Index
        Labels of the dropped rows.
    """
    frame = data.loc[:, list(columns)].copy()
    missing = frame.isna()
    incomplete = missing.any(axis=1).to_numpy()
    dropped = frame.index[incomplete]
    if incomplete.any():
        culprits = [c for c in columns if missing[c].any()]
        if incomplete.all():
            raise DataError(
                f"Every row has a missing value in at least one of {', '.join(repr(c) for c in culprits)}; "
                "nothing is left to fit. Impute or choose other columns.",
                column=culprits[0],
            )
        warnings.warn(
            f"{int(incomplete.sum())} rows with missing values in "
            f"{', '.join(repr(c) for c in culprits)} were dropped (both models use the same rows).",
            DroppedRowsWarning,
            stacklevel=stacklevel,
        )
        frame = frame.loc[~incomplete]
    return frame, dropped


def check_finite(frame: pd.DataFrame, roles: dict[str, str]) -> None:
    """Raise a DataError naming the first numeric column that holds +/-inf."""
    for column, role in roles.items():
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            bad = np.isinf(values)
            if bad.any():
                first = frame.index[np.flatnonzero(bad)[0]]
                raise DataError(
                    f"Column {column!r} ({role}) has {int(bad.sum())} infinite values (first at row {first!r}). "
                    "Replace them with finite numbers or NaN (rows with NaN are dropped).",
                    column=column,
                    role=role,
                )


@dataclass(frozen=True)
class TreatmentContrast:
    """The two treatment values compared, in the column's own type.

    Attributes
    ----------
    kind : {"binary", "categorical", "continuous"}
    control, treated : object
        Values assigned to the treatment column for the control and treated arms.
    """

    kind: str
    control: object
    treated: object


def _levels(series: pd.Series) -> list:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    if pd.api.types.is_bool_dtype(series):
        return [False, True]
    return sorted(series.unique().tolist())


def resolve_treatment(series: pd.Series, treat_value, control_value) -> TreatmentContrast:
    """Decide the contrast for the treatment column (0/1, bool, two-level categorical or continuous).

    Raises
    ------
    DataError
        Non-binary treatment without both values, values not among the levels, or an empty arm.
    """
    name = series.name
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    observed = pd.unique(series.to_numpy())
    if len(observed) < 2:
        raise DataError(
            f"Column {name!r} (treatment) takes a single value ({observed[0]!r}) in the rows used; "
            "both arms need observations.",
            column=name,
            role="treatment",
        )
    if numeric:
        distinct = np.unique(series.to_numpy(dtype=float))
        if treat_value is None and control_value is None:
            if len(distinct) == 2 and set(distinct.tolist()) == {0.0, 1.0}:
                contrast = TreatmentContrast("binary", 0, 1)
            else:
                shown = ", ".join(f"{v:g}" for v in distinct[:5]) + (", ..." if len(distinct) > 5 else "")
                raise DataError(
                    f"Column {name!r} (treatment) must be binary 0/1; found {len(distinct)} distinct values: "
                    f"{shown}. Recode it to 0/1, or pass treat_value= and control_value= to contrast two "
                    "values of a continuous treatment.",
                    column=name,
                    role="treatment",
                )
        else:
            if treat_value is None or control_value is None:
                missing = "treat_value" if treat_value is None else "control_value"
                raise ParameterError(
                    f"Parameter {missing} is required when the other contrast value is given "
                    f"(treatment column {name!r}).",
                    parameter=missing,
                )
            for pname, value in (("treat_value", treat_value), ("control_value", control_value)):
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise ParameterError(
                        f"Parameter {pname} must be a number for the numeric treatment column {name!r}; "
                        f"got {value!r}.",
                        parameter=pname,
                    )
            if treat_value == control_value:
                raise ParameterError(
                    f"Parameters treat_value and control_value must differ; both are {treat_value!r}.",
                    parameter="treat_value",
                )
            binary = len(distinct) == 2 and {float(treat_value), float(control_value)} == set(distinct.tolist())
            contrast = TreatmentContrast("binary" if binary else "continuous", control_value, treat_value)
    else:
        levels = _levels(series)
        if treat_value is None and control_value is None:
            if len(levels) != 2:
                raise DataError(
                    f"Column {name!r} (treatment) must have two levels; found {len(levels)}: "
                    f"{', '.join(map(repr, levels[:6]))}. Pass treat_value= and control_value= to choose two.",
                    column=name,
                    role="treatment",
                )
            control_value, treat_value = levels
        for pname, value in (("treat_value", treat_value), ("control_value", control_value)):
            if value not in levels:
                raise ParameterError(
                    f"Parameter {pname}={value!r} is not a level of the treatment column {name!r}; "
                    f"levels are {', '.join(map(repr, levels))}.",
                    parameter=pname,
                )
        contrast = TreatmentContrast(
            "binary" if pd.api.types.is_bool_dtype(series) else "categorical", control_value, treat_value
        )
    if contrast.kind != "continuous":
        values = series.to_numpy()
        for arm, value in (("control", contrast.control), ("treated", contrast.treated)):
            if not np.any(values == value):
                raise DataError(
                    f"Column {name!r} (treatment) has no rows in the {arm} arm ({value!r}) among the rows used. "
                    "Both arms need observations.",
                    column=name,
                    role="treatment",
                )
    return contrast


def check_response(series: pd.Series, role: str, family: str) -> None:
    """Check that a mediator or outcome column fits its family (numeric; 0/1 for binary families; not constant)."""
    name = series.name
    if pd.api.types.is_bool_dtype(series):
        values = series.to_numpy().astype(float)
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float)
    else:
        kind = "binary 0/1" if family != "gaussian" else "numeric"
        raise DataError(
            f"Column {name!r} ({role}) must be {kind} for a {family} {role} model; found dtype "
            f"{series.dtype} (e.g. {series.iloc[0]!r}). Convert it to numbers first"
            + (", e.g. (data[col] == level).astype(int)." if family != "gaussian" else "."),
            column=name,
            role=role,
        )
    distinct = np.unique(values)
    if len(distinct) < 2:
        raise DataError(
            f"Column {name!r} ({role}) is constant ({distinct[0]:g}) in the rows used; a {role} must vary.",
            column=name,
            role=role,
        )
    if family != "gaussian" and not set(distinct.tolist()) <= {0.0, 1.0}:
        shown = ", ".join(f"{v:g}" for v in distinct[:5]) + (", ..." if len(distinct) > 5 else "")
        raise DataError(
            f"Column {name!r} ({role}) must be binary 0/1 for a {family} {role} model; found "
            f"{len(distinct)} distinct values: {shown}. Recode it or use {role}_family='gaussian'.",
            column=name,
            role=role,
        )


def aliased_columns(X: np.ndarray) -> list[int]:
    """Indices of columns that are linear combinations of the columns before them (R's aliased terms)."""
    from scipy.linalg import qr

    if X.shape[1] == 0:
        return []
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    r = qr(X / scale, mode="r", pivoting=False)[0]
    diag = np.abs(np.diag(r))
    tol = max(X.shape) * np.finfo(float).eps * max(diag.max(initial=0.0), 1.0) * 1e3
    return [j for j in range(X.shape[1]) if j >= len(diag) or diag[j] <= tol]


def check_design(X: np.ndarray, names: Sequence[str], model: str) -> None:
    """Require more rows than parameters and a full-rank design; name the aliased terms otherwise."""
    n, p = X.shape
    if n <= p:
        raise DataError(
            f"The {model} model has {p} parameters but only {n} rows are available; it needs more rows than "
            "parameters. Drop covariates or factor levels, or supply more data.",
            role=model,
        )
    aliased = aliased_columns(X)
    if aliased:
        terms = ", ".join(repr(names[j]) for j in aliased)
        raise DataError(
            f"The {model} model's design is singular: {terms} "
            f"{'is a linear combination' if len(aliased) == 1 else 'are linear combinations'} of the other "
            "columns (perfect collinearity, e.g. a duplicated covariate or an empty factor level). "
            "Remove or recode the aliased terms.",
            column=str(names[aliased[0]]),
            role=model,
        )
