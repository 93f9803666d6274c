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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mediationhte.errors import ContrastWarning, DataError, DroppedRowsWarning, ParameterError, warn_at_caller



def plain(value):
    """A NumPy scalar as the Python value it holds (so messages show 3, not np.int64(3)); others unchanged."""
    return value.item() if isinstance(value, np.generic) else value

def check_option(name: str, value, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise ParameterError naming ``name`` otherwise."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ParameterError(
            f"Parameter {name} must be one of {choices}; got {value!r}.", parameter=name
        )
    return value


def check_options(name: str, value, allowed: Sequence[str], *, allow_empty: bool = False,
                  example: str = "") -> tuple[str, ...]:
    """One option or a list of options, each among ``allowed`` and none repeated, as a tuple in the given order.

    A single string is a list of one. Raise ParameterError naming ``name`` for anything
    else (an unknown or repeated option, a non-string, a non-list, or an empty list
    unless ``allow_empty``).
    """
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if (names is None or (not names and not allow_empty) or len(set(map(repr, names))) != len(names)
            or any(not isinstance(v, str) or v not in allowed for v in names)):
        choices = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"Parameter {name} must be one of {choices} or a list of them without repeats"
                             f"{', e.g. ' + example if example else ''}; got {value!r}.", parameter=name)
    return names


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
        raise DataError("Parameter data has no rows; pass a DataFrame with at least one row per unit.")
    if isinstance(data.columns, pd.MultiIndex):
        raise DataError("Parameter data has MultiIndex (hierarchical) column labels; formulas name flat columns. "
                        "Flatten them first, e.g. data.columns = ['_'.join(map(str, c)) for c in data.columns].",
                        column=str(data.columns[0]))
    not_text = [c for c in data.columns if not isinstance(c, str)]
    if not_text:
        raise DataError(f"Parameter data has column labels that are not strings ({len(not_text)}, e.g. "
                        f"{not_text[0]!r} of type {type(not_text[0]).__name__}); formulas name columns by text. "
                        "Rename them, e.g. data.columns = [f'x{c}' for c in data.columns].", column=str(not_text[0]))
    duplicated = data.columns[data.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(
            f"Parameter data has duplicated column names {duplicated}; rename them so each is unique.",
            column=str(duplicated[0]),
        )
    return data


def column_for_rows(data, column, rows_used: pd.Index, parameter: str = "data") -> pd.Series:
    """``data[column]`` at the fit's rows, checked: a DataFrame whose unique index holds every row the fit used.

    Used by result methods that take the user's frame again (``by(column, data=...)``):
    a frame with duplicate labels or other rows would silently misalign.
    """
    check_dataframe(data)
    if column not in data.columns:
        raise ParameterError(f"Parameter column {column!r} is not a column of {parameter}; columns are "
                             f"{', '.join(map(repr, list(data.columns)[:8]))}{', ...' if data.shape[1] > 8 else ''}.",
                             parameter="column")
    if not data.index.is_unique:
        dup = data.index[data.index.duplicated()].unique()
        raise DataError(f"Parameter {parameter} has duplicate index labels ({len(dup)}, e.g. {_plain(dup[0])!r}); "
                        "rows cannot be matched to the fit's rows. Pass the DataFrame given to the fit, or "
                        "reset_index(drop=True) on both.", column=str(column))
    missing = rows_used.difference(data.index)
    if len(missing):
        raise DataError(f"Parameter {parameter} lacks {_plural(len(missing), 'row')} the fit used (e.g. index label "
                        f"{_plain(missing[0])!r}); pass the DataFrame given to the fit.", column=str(column))
    return data.loc[rows_used, column]


def suggest_columns(name: str, available: Sequence[str], n: int = 3) -> list[str]:
    """Columns of ``available`` that ``name`` was probably meant to be, best first.

    A case-insensitive exact match wins outright; otherwise the closest names by
    :class:`difflib.SequenceMatcher` ratio (at least 0.6), keeping only those
    about as close as the best one, so that ``'job_sek'`` suggests ``'job_seek'``
    and not every column starting with ``'job_'``.
    """
    available = [str(c) for c in available]
    lowered = name.lower()
    exact = [c for c in available if c.lower() == lowered]
    if exact:
        return exact[:n]
    scored = [(difflib.SequenceMatcher(None, lowered, c.lower()).ratio(), c) for c in available]
    scored = sorted((sc for sc in scored if sc[0] >= 0.6), key=lambda sc: -sc[0])
    if not scored:
        return []
    best = scored[0][0]
    return [c for score, c in scored if score >= best - 0.05][:n]


def _where_label(where: str, role: str | None) -> str:
    """``'(treatment, from parameter treatment)'`` or ``'(in outcome_formula)'``."""
    place = f"from {where}" if where.startswith("parameter") else f"in {where}"
    return f"({role}, {place})" if role else f"({place})"


def check_columns_exist(columns: Iterable[str], data: pd.DataFrame, where: str, role: str | None = None) -> None:
    """Raise a DataError for the first column not in ``data``, suggesting close matches."""
    available = [str(c) for c in data.columns]
    for column in columns:
        if column in data.columns:
            continue
        close = suggest_columns(str(column), available)
        if close:
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?"
        else:
            shown = ", ".join(repr(c) for c in available[:10]) + (", ..." if len(available) > 10 else "")
            hint = f" Check the spelling; data has columns {shown}."
        raise DataError(
            f"Column {column!r} {_where_label(where, role)} is not in data.{hint}",
            column=column,
            role=role,
        )


def _plain(value):
    """A numpy scalar as the Python scalar it holds, so messages show ``1`` and not ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _numpy_backed(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn nullable numeric/boolean columns (``Int64``, ``Float64``, ``boolean``) into numpy dtypes.

    Only called once the missing values are gone. patsy cannot read the masked
    extension dtypes (``boolean`` raises a TypeError deep inside it).
    """
    converted = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if (
            isinstance(dtype, pd.api.extensions.ExtensionDtype)
            and not isinstance(dtype, pd.CategoricalDtype)
            and getattr(dtype, "numpy_dtype", None) is not None
            and (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype))
        ):
            converted[column] = frame[column].to_numpy(dtype=dtype.numpy_dtype)
    return frame.assign(**converted) if converted else frame


def drop_incomplete_rows(data: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, pd.Index]:
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
        count = int(incomplete.sum())
        warn_at_caller(
            f"{_plural(count, 'row')} with missing values in {', '.join(repr(c) for c in culprits)} "
            f"{'was' if count == 1 else 'were'} dropped (both models use the same rows). "
            "Impute them, or drop them yourself to silence this warning.",
            DroppedRowsWarning,
        )
        frame = frame.loc[~incomplete]
    return _numpy_backed(frame), dropped


#: Magnitudes above this overflow double precision in squares and cross-products (the largest double is 1.8e308).
MAX_MAGNITUDE = 1e150
#: Integers above 2**53 are not all representable as doubles: differences between such values are lost.
EXACT_INTEGER_LIMIT = 2.0**53


def check_finite(frame: pd.DataFrame, roles: dict[str, str]) -> None:
    """Raise a DataError naming the first used column whose values no model can use as given.

    Every entry point calls it on the rows it will fit: +/-inf; magnitudes whose
    products overflow; values so large and so close that double precision cannot
    tell them apart (e.g. ``age + 2**62``); numbers stored as text, which would
    otherwise become a factor with one level per distinct value.
    """
    for column, role in roles.items():
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            bad = np.isinf(values)
            if bad.any():
                first = frame.index[np.flatnonzero(bad)[0]]
                raise DataError(
                    f"Column {column!r} ({role}) has {_plural(int(bad.sum()), 'infinite value')} (first at row "
                    f"{_plain(first)!r}). "
                    "Replace them with finite numbers or NaN (rows with NaN are dropped).",
                    column=column,
                    role=role,
                )
            _check_scale(values[~np.isnan(values)], column, role)
        elif _is_text(series):
            _check_text_numbers(series, column, role)


def _check_scale(values: np.ndarray, column, role) -> None:
    if not values.size:
        return
    largest = float(np.max(np.abs(values)))
    if largest > MAX_MAGNITUDE:
        raise DataError(
            f"Column {column!r} ({role}) has values as large as {largest:.3g} in magnitude; the model's squares and "
            "cross-products of such values overflow double precision. Rescale the column (e.g. divide it by a "
            "power of 10) and interpret the effects on the new scale.",
            column=column, role=role)
    spread = float(np.ptp(values))
    if largest >= EXACT_INTEGER_LIMIT and spread < largest * 2.0**-40:
        differ = "are all equal" if spread == 0 else f"differ by at most {spread:.3g}"
        raise DataError(
            f"Column {column!r} ({role}) has values around {largest:.6g} that {differ} in double precision: at "
            "that size it cannot represent the differences between them (they are below its resolution). "
            f"Subtract a constant first (e.g. data[{column!r}] - data[{column!r}].min()).",
            column=column, role=role)


def _is_text(series: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)) and not isinstance(
        series.dtype, pd.CategoricalDtype)


def _check_text_numbers(series: pd.Series, column, role) -> None:
    present = series.dropna()
    if not len(present) or not all(isinstance(v, str) for v in present):
        return
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.notna().all():
        levels = present.nunique()
        raise DataError(
            f"Column {column!r} ({role}) holds numbers stored as text (e.g. {present.iloc[0]!r}); used as it is, "
            f"it would become a factor with {levels} levels. Convert it with pd.to_numeric(data[{column!r}]), or "
            f"with data[{column!r}].astype('category') if the numbers are codes of categories.",
            column=column, role=role)


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
    values = [_plain(v) for v in series.unique().tolist()]
    try:
        return sorted(values)
    except TypeError:  # mixed types (e.g. str and int) in an object column: keep the order of appearance
        return values


def _same_value(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def resolve_treatment(series: pd.Series, treat_value, control_value) -> TreatmentContrast:
    """Decide the contrast for the treatment column (0/1, bool, two-level categorical or continuous).

    Raises
    ------
    DataError
        A treatment with a single value in the rows used, a non-binary treatment
        without both values, or an empty arm.
    ParameterError
        Only one of ``treat_value``/``control_value`` given, equal values, a
        non-numeric value for a numeric column, or a value that is not a level.
    """
    name = series.name
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    observed = pd.unique(series.to_numpy())
    if len(observed) == 0:
        raise DataError(
            f"Column {name!r} (treatment) has no rows in the rows used; both arms need observations. Check the "
            "rows dropped for missing values (DroppedRowsWarning) or the subset selected.",
            column=name,
            role="treatment",
        )
    if len(observed) < 2:
        raise DataError(
            f"Column {name!r} (treatment) takes a single value ({_plain(observed[0])!r}) in the rows used; "
            "both arms need observations. Check the rows dropped for missing values (DroppedRowsWarning) "
            "or choose another treatment column.",
            column=name,
            role="treatment",
        )
    if (treat_value is None) != (control_value is None):
        missing, given = ("treat_value", "control_value") if treat_value is None else ("control_value", "treat_value")
        raise ParameterError(
            f"Parameter {missing} is required when {given} is given (treatment column {name!r}); "
            "pass both treat_value= and control_value=, or neither for a binary treatment.",
            parameter=missing,
        )
    if treat_value is not None and _same_value(treat_value, control_value):
        raise ParameterError(
            f"Parameters treat_value and control_value must differ (treatment column {name!r}); "
            f"both are {treat_value!r}.",
            parameter="treat_value",
        )
    if numeric:
        distinct = np.unique(series.to_numpy(dtype=float))
        if treat_value is None:
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
            for pname, value in (("treat_value", treat_value), ("control_value", control_value)):
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise ParameterError(
                        f"Parameter {pname} must be a number for the numeric treatment column {name!r}; "
                        f"got {value!r}.",
                        parameter=pname,
                    )
            binary = len(distinct) == 2 and {float(treat_value), float(control_value)} == set(distinct.tolist())
            if len(distinct) == 2 and not binary:
                outside = [f"{p}={v!r}" for p, v in (("treat_value", treat_value), ("control_value", control_value))
                           if float(v) not in set(distinct.tolist())]
                raise ParameterError(
                    f"Parameter {outside[0].split('=')[0]}: the treatment column {name!r} takes only the values "
                    f"{distinct[0]:g} and {distinct[1]:g}, so {' and '.join(outside)} would extrapolate the "
                    f"models to a treatment never observed. Use treat_value={distinct[1]:g}, "
                    f"control_value={distinct[0]:g} (or leave both out for a 0/1 treatment).",
                    parameter=outside[0].split("=")[0])
            contrast = TreatmentContrast("binary" if binary else "continuous", control_value, treat_value)
    else:
        levels = _levels(series)
        if treat_value is None:
            if len(levels) != 2:
                present = set(observed.tolist())
                unused = [lv for lv in levels if lv not in present]
                note = (f" ({', '.join(map(repr, unused))} {'has' if len(unused) == 1 else 'have'} no rows; "
                        "remove with .cat.remove_unused_categories())") if unused else ""
                raise DataError(
                    f"Column {name!r} (treatment) must have two levels; found {len(levels)}: "
                    f"{', '.join(map(repr, levels[:6]))}{', ...' if len(levels) > 6 else ''}{note}. "
                    "Pass treat_value= and control_value= to choose two.",
                    column=name,
                    role="treatment",
                )
            control_value, treat_value = levels
            if _is_text(series):
                warn_at_caller(
                    f"Column {name!r} (treatment) has the text labels {control_value!r} and {treat_value!r}; the "
                    f"contrast is treated = {treat_value!r} against control = {control_value!r} (the second "
                    "label in sorted order is the treated arm). Pass treat_value= and control_value= to choose "
                    "(this also silences the warning).",
                    ContrastWarning)
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
                    "Both arms need observations: choose another level or check the rows dropped for "
                    "missing values.",
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


def complete_binary_treatment_rows(data: pd.DataFrame, roles, context: str):
    """The rows ``cate()`` analyses: complete and finite in every used column, a binary treatment, a numeric outcome.

    ``roles`` needs ``columns``, ``outcome``, ``treatment`` and ``covariates``;
    ``context`` names the analysis in the error for a continuous treatment.
    Returns (frame, dropped row labels, TreatmentContrast).
    """
    frame, dropped = drop_incomplete_rows(data, roles.columns)
    check_finite(frame, {roles.outcome: "outcome", roles.treatment: "treatment",
                         **{c: "covariate" for c in roles.covariates}})
    contrast = resolve_treatment(frame[roles.treatment], None, None)
    if contrast.kind == "continuous":
        raise DataError(f"Column {roles.treatment!r} (treatment) must be binary for {context}: found "
                        f"{frame[roles.treatment].nunique()} distinct numeric values. Dichotomise it first, e.g. "
                        f"(data[{roles.treatment!r}] > threshold).astype(int).", column=roles.treatment,
                        role="treatment")
    check_response(frame[roles.outcome], "outcome", "gaussian")
    return frame, dropped, contrast


def check_fixed_covariates(covariates, allowed: Sequence[str], data: pd.DataFrame) -> dict | None:
    """Validate ``covariates=`` (column -> value at which effects are conditioned, as R's ``covariates``).

    Every column must be one of ``allowed`` (the pre-treatment covariates of the
    formulas); a categorical or text column takes one of its levels, a numeric one a
    number (a bool for a bool column). Returns a copy of the dict, or None.
    """
    if covariates is None:
        return None
    if not isinstance(covariates, dict) or not covariates:
        raise ParameterError(
            f"Parameter covariates must be a non-empty dict of column -> value, e.g. {{'sex': 1}}; got {covariates!r}.",
            parameter="covariates",
        )
    for column, value in covariates.items():
        if column not in allowed:
            raise ParameterError(
                f"Parameter covariates names {column!r}, which is not a pre-treatment covariate of either formula "
                f"(covariates are {', '.join(map(repr, allowed)) or 'none'}).",
                parameter="covariates",
            )
        series = data[column]
        if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series):
            levels = (list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype)
                      else sorted(series.dropna().unique().tolist(), key=str))
            if value not in levels:
                raise ParameterError(
                    f"Parameter covariates sets {column!r} to {value!r}, which is not one of its levels "
                    f"({', '.join(map(repr, levels[:10]))}).",
                    parameter="covariates",
                )
        elif isinstance(value, bool) != pd.api.types.is_bool_dtype(series) or not isinstance(value, numbers.Real):
            raise ParameterError(
                f"Parameter covariates sets the numeric column {column!r} to {value!r}; give a number.",
                parameter="covariates",
            )
    return dict(covariates)
