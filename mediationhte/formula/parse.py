"""Formula parsing: roles (outcome, mediator, treatment, covariates), design matrices, counterfactual matrices.

Counterfactual design matrices (treatment set to a value, mediator set to a draw)
are built only from the stored patsy ``DesignInfo``: re-running the formula on a
counterfactual frame would re-learn factor levels and stateful transforms such as
``center(age)``.
"""

from __future__ import annotations

import ast
import re
import json
import builtins
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import patsy.builtins

from mediationhte.errors import FormulaError, FormulaWarning, ParameterError, warn_at_caller
from mediationhte.core.validation import check_columns_exist


@dataclass(frozen=True)
class FormulaRoles:
    """Which data columns play which role, read off the two formulas before any data are touched."""

    outcome_formula: str
    mediator_formula: str
    outcome: str
    mediator: str
    treatment: str
    outcome_columns: tuple[str, ...]
    mediator_columns: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column used by either formula, in first-use order."""
        return tuple(dict.fromkeys(self.outcome_columns + self.mediator_columns))

    @property
    def covariates(self) -> tuple[str, ...]:
        """Pre-treatment covariate columns (used by either model, not outcome, mediator or treatment)."""
        roles = {self.outcome, self.mediator, self.treatment}
        return tuple(c for c in self.columns if c not in roles)


@dataclass(frozen=True)
class ModelSpec:
    """Parsed formulas plus the patsy design information learned on the rows used."""

    roles: FormulaRoles
    outcome_info: patsy.DesignInfo = field(repr=False)
    mediator_info: patsy.DesignInfo = field(repr=False)

    @property
    def outcome_terms(self) -> tuple[str, ...]:
        """Column names of the outcome model's design matrix."""
        return tuple(self.outcome_info.column_names)

    @property
    def mediator_terms(self) -> tuple[str, ...]:
        """Column names of the mediator model's design matrix."""
        return tuple(self.mediator_info.column_names)


def names_in_code(code: str, columns: set[str]) -> list[str]:
    """Data columns referred to by one patsy factor's Python code (bare names and ``Q("...")``)."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return [c for c in columns if c == code.strip()]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in columns:
            found.append(node.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in columns
        ):
            found.append(node.args[0].value)
    return list(dict.fromkeys(found))


def term_codes(terms) -> list[list[str]]:
    """The factor codes of each patsy term (one list per term)."""
    return [[factor.name() for factor in term.factors] for term in terms]


def quote_backticks(formula):
    """R's backtick quoting of a non-syntactic name, `job seek`, as patsy's Q("job seek") (other input unchanged)."""
    if not isinstance(formula, str):
        return formula
    return re.sub(r"`([^`]+)`", lambda match: f"Q({json.dumps(match.group(1))})", formula)


def parse_formula(formula, parameter: str) -> patsy.ModelDesc:
    """``formula`` as a patsy ModelDesc; a FormulaError names ``parameter`` when it is not a parsable formula."""
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(
            f"Parameter {parameter} must be a formula string such as 'y ~ treat + x'; got {formula!r}."
        )
    formula = quote_backticks(formula)
    try:
        return patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise FormulaError(f"Parameter {parameter} could not be parsed: {exc}") from exc


#: A column named through patsy's quoting, Q("job seek") or Q('job seek').
_QUOTED_NAME = re.compile(r"Q\((['\"]).*\1\)")


def learner_ignored_terms(formulas, columns, exclude) -> tuple[str, ...]:
    """Right-hand terms that ML learners cannot see as written: transforms and covariate interactions.

    The learners take the raw covariate columns, so ``np.log(age)``, ``I(x**2)``,
    ``C(x > 10)`` and ``age:sex`` reach them as ``age``, ``x`` and ``age``, ``sex``.
    Terms that involve a column of ``exclude`` (the treatment, the mediator) are left
    out: the learners model those by arm or as a feature already.
    """
    columns, exclude = {str(c) for c in columns}, set(exclude)
    ignored = []
    for formula in formulas:
        for term in parse_formula(formula, "formula").rhs_termlist:
            codes = [factor.name() for factor in term.factors]
            used = variables_in([codes], columns)
            if not codes or exclude.intersection(used):
                continue
            if len(codes) == 1 and len(used) == 1 and (codes[0].strip() == used[0]
                                                      or _QUOTED_NAME.fullmatch(codes[0].strip())):
                continue
            ignored.append(term.name())
    return tuple(dict.fromkeys(ignored))


def warn_learner_terms(formulas, columns, exclude, *, learner) -> None:
    """Warn (FormulaWarning) naming the formula terms an ML learner sees as raw columns."""
    ignored = learner_ignored_terms(formulas, columns, exclude)
    if not ignored:
        return
    listed = ", ".join(ignored)
    warn_at_caller(
        f"learner={learner!r} uses the raw covariate columns, so the formula terms {listed} are not used as written "
        "(a tree learner is unchanged by a monotone transform; a linear or penalised learner is not, and no learner "
        "sees a product term). To give the learners a transformed feature, add it to data as a column and use its "
        "name in the formula.", FormulaWarning)


def variables_in(term_codes: list[list[str]], columns: set[str]) -> list[str]:
    """Data columns used by any of the terms, in first-use order."""
    out: list[str] = []
    for codes in term_codes:
        for code in codes:
            out.extend(names_in_code(code, columns))
    return list(dict.fromkeys(out))


def _check_treatment_column(treatment, data: pd.DataFrame) -> None:
    """An explicit ``treatment=`` must be a str naming a column of ``data``."""
    if not isinstance(treatment, str):
        raise ParameterError(
            f"Parameter treatment must be a column name (str); got {type(treatment).__name__} {treatment!r}.",
            parameter="treatment",
        )
    check_columns_exist([treatment], data, "parameter treatment", role="treatment")


def parse_roles(outcome_formula: str, mediator_formula: str, data: pd.DataFrame, treatment: str | None) -> FormulaRoles:
    """Read the roles off the formulas and check the rules that tie them together.

    Rules: the mediator is the (single-column) left side of ``mediator_formula``
    and appears on the right of ``outcome_formula``; the treatment (default: the
    first right-hand term of ``mediator_formula``) is on both right-hand sides;
    the outcome is on no right-hand side.
    """
    outcome_formula, mediator_formula = quote_backticks(outcome_formula), quote_backticks(mediator_formula)
    out_desc = parse_formula(outcome_formula, "outcome_formula")
    med_desc = parse_formula(mediator_formula, "mediator_formula")
    columns = {str(c) for c in data.columns}
    out_lhs_codes = term_codes(out_desc.lhs_termlist)
    med_lhs_codes = term_codes(med_desc.lhs_termlist)
    out_rhs_codes = term_codes(out_desc.rhs_termlist)
    med_rhs_codes = term_codes(med_desc.rhs_termlist)

    for codes, parameter in ((out_lhs_codes, "outcome_formula"), (med_lhs_codes, "mediator_formula")):
        if len(codes) != 1 or len(codes[0]) != 1:
            raise FormulaError(f"Parameter {parameter} needs exactly one variable on its left-hand side.")
    # Names that look like columns but are not: report them before anything else.
    namespace = _CallerNamespace.find()
    for lhs, rhs, parameter, role in ((out_lhs_codes, out_rhs_codes, "outcome_formula", "outcome"),
                                      (med_lhs_codes, med_rhs_codes, "mediator_formula", "mediator")):
        for term in lhs:
            for code in term:
                _check_names(code, data, parameter, role=role, namespace=namespace)
        for term in rhs:
            for code in term:
                _check_names(code, data, parameter, namespace=namespace)

    mediator_code = med_lhs_codes[0][0].strip()
    quoted = names_in_code(mediator_code, columns)
    if mediator_code not in columns and len(quoted) == 1 and _QUOTED_NAME.fullmatch(mediator_code):
        mediator_code = quoted[0]   # Q("job seek"): the column itself
    if mediator_code not in columns:
        raise FormulaError(
            f"The left-hand side of mediator_formula must be a data column (the mediator); got {mediator_code!r}. "
            "Create the transformed column in data first and use its name."
        )
    mediator = mediator_code
    outcome_vars = names_in_code(out_lhs_codes[0][0], columns)
    if len(outcome_vars) != 1:
        raise FormulaError(
            f"The left-hand side of outcome_formula must refer to exactly one data column; got "
            f"{out_lhs_codes[0][0]!r}."
        )
    outcome = outcome_vars[0]

    out_rhs_vars = variables_in(out_rhs_codes, columns)
    med_rhs_vars = variables_in(med_rhs_codes, columns)
    if outcome == mediator:
        raise FormulaError(
            f"The outcome and the mediator are the same column ({outcome!r}); the left-hand sides of "
            "outcome_formula and mediator_formula must be two different columns."
        )
    if mediator in med_rhs_vars:
        raise FormulaError(
            f"The mediator {mediator!r} appears on both sides of mediator_formula ({mediator_formula!r}); "
            "remove it from the right-hand side."
        )
    if outcome in out_rhs_vars or outcome in med_rhs_vars:
        where, formula = (("outcome_formula", outcome_formula) if outcome in out_rhs_vars
                          else ("mediator_formula", mediator_formula))
        raise FormulaError(
            f"The outcome {outcome!r} appears on the right-hand side of {where} ({formula!r}); an outcome "
            "cannot explain itself or the mediator. Remove it from the right-hand side."
        )
    if treatment is None:
        first = [names_in_code(code, columns) for codes in med_rhs_codes for code in codes if codes]
        first = [names for names in first if names]
        if not first:
            raise FormulaError(
                f"mediator_formula ({mediator_formula!r}) has no right-hand variable to use as the treatment; "
                "write it as 'mediator ~ treat + covariates' or pass treatment=."
            )
        treatment = first[0][0]
    else:
        _check_treatment_column(treatment, data)
        if treatment in (outcome, mediator):
            role = "outcome" if treatment == outcome else "mediator"
            raise FormulaError(
                f"Parameter treatment={treatment!r} names the {role} (left-hand side of {role}_formula); the "
                "treatment must be a third column on the right-hand side of both formulas."
            )

    if treatment not in med_rhs_vars:
        raise FormulaError(
            f"The treatment {treatment!r} is missing from the right-hand side of mediator_formula "
            f"({mediator_formula!r}). Add it: '{mediator} ~ {treatment} + ...'."
        )
    if treatment not in out_rhs_vars:
        raise FormulaError(
            f"The treatment {treatment!r} is missing from the right-hand side of outcome_formula "
            f"({outcome_formula!r}). Add it: '{outcome} ~ {treatment} + {mediator} + ...'."
        )
    if mediator not in out_rhs_vars:
        raise FormulaError(
            f"The mediator {mediator!r} (left-hand side of mediator_formula) is not on the right-hand side of "
            f"outcome_formula ({outcome_formula!r}). Add it: '{outcome} ~ {treatment} + {mediator} + ...'."
        )
    outcome_columns = tuple(dict.fromkeys([outcome] + out_rhs_vars))
    mediator_columns = tuple(dict.fromkeys([mediator] + med_rhs_vars))
    return FormulaRoles(
        outcome_formula=outcome_formula,
        mediator_formula=mediator_formula,
        outcome=outcome,
        mediator=mediator,
        treatment=treatment,
        outcome_columns=outcome_columns,
        mediator_columns=mediator_columns,
    )


_KNOWN_CALLS = {"C", "I", "Q", "np", "center", "standardize", "scale", "bs", "cr", "cc", "te", "Treatment",
                "Sum", "Diff", "Helmert", "Poly", "log", "exp", "sqrt"}
_PATSY_BUILTINS = frozenset(patsy.builtins.__all__)


class _CallerNamespace:
    """The variables patsy can see: those of the first frame outside mediationhte, Python's and patsy's builtins.

    :func:`mediationhte.mediate` hands patsy this namespace (:func:`caller_eval_env`),
    the namespace of its caller, so ``I(x * k)`` may use a variable ``k`` and
    ``sq(x)`` a function ``sq`` of the calling module. The name checks must not
    call those "missing columns".
    """

    def __init__(self, local_vars: dict, global_vars: dict):
        self._locals = local_vars
        self._globals = global_vars

    @classmethod
    def find(cls) -> _CallerNamespace | None:
        """The namespace of the nearest calling frame that is not part of this package (None if unknown)."""
        frame = sys._getframe(1)
        try:
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module != "mediationhte" and not module.startswith("mediationhte."):
                    return cls(dict(frame.f_locals), frame.f_globals)
                frame = frame.f_back
            return None
        finally:
            del frame

    def eval_env(self) -> patsy.EvalEnvironment:
        """The namespace as patsy's evaluation environment (what ``EvalEnvironment.capture`` gives at that frame)."""
        return patsy.EvalEnvironment([self._locals, self._globals])

    def __contains__(self, name: str) -> bool:
        return (name in self._locals or name in self._globals or name in _PATSY_BUILTINS
                or hasattr(builtins, name))


def caller_eval_env() -> patsy.EvalEnvironment:
    """The patsy evaluation environment of the nearest calling frame outside the package.

    Not ``EvalEnvironment.capture(1)``: public functions run inside wrappers of the
    package (the native thread budget), so "one frame up" is not the user's frame.
    """
    namespace = _CallerNamespace.find()
    return patsy.EvalEnvironment.capture(0) if namespace is None else namespace.eval_env()


def _check_names(code: str, data: pd.DataFrame, parameter: str, *, role: str | None = None,
                 namespace: _CallerNamespace | None = None) -> None:
    """Raise for a name in ``code`` that is neither a column nor defined where patsy will look.

    A bare name that is not a column, not a variable of the calling namespace
    and not a known function raises a DataError with close-match suggestions
    (``role`` is given for a left-hand side); so does ``Q("name")`` naming no
    column. A called function or a module (``np``) that is not defined raises a
    FormulaError. When the calling namespace cannot be found, only names that
    cannot be functions or modules are checked.
    """
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        name = code.strip()
        raise FormulaError(
            f"Parameter {parameter}: the term {name!r} is not a valid name. A column whose name has spaces or "
            f"other symbols, or is a Python keyword (class, lambda, ...), must be quoted: Q({json.dumps(name)}) or "
            f"R's backticks `{name}`.") from None
    if namespace is None:
        namespace = _CallerNamespace.find()
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    attribute_roots = {n.value.id for n in ast.walk(tree)
                       if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in data.columns
        ):
            check_columns_exist([node.args[0].value], data, parameter, role=role)
        if not isinstance(node, ast.Name) or node.id in data.columns or node.id in {"True", "False", "None"}:
            continue
        if namespace is not None and node.id in namespace:
            continue
        if node.id in called or node.id in attribute_roots:
            if namespace is None or node.id in _PATSY_BUILTINS:
                continue
            what = "Function" if node.id in called else "Name"
            numpy_names = {"log", "log2", "log10", "exp", "sqrt"}
            hint = (f" Use np.{node.id}(...) with numpy imported as np" if node.id in numpy_names
                    else " Import or define it")
            raise FormulaError(
                f"{what} {node.id!r} in {parameter} ({code.strip()!r}) is not defined: it is not a patsy "
                f"built-in and not a variable where mediate() was called.{hint} before calling mediate()."
            )
        if node.id in _KNOWN_CALLS:
            continue
        check_columns_exist([node.id], data, parameter, role=role)


def build_spec(roles: FormulaRoles, frame: pd.DataFrame, eval_env: patsy.EvalEnvironment) -> tuple[ModelSpec, dict]:
    """Learn the design information on the clean rows and return the spec plus the fitted arrays.

    Returns
    -------
    spec : ModelSpec
    arrays : dict
        ``y``, ``X_outcome``, ``m``, ``X_mediator`` as float arrays (rows of ``frame``).
    """
    try:
        y, X_out = patsy.dmatrices(roles.outcome_formula, frame, eval_env=eval_env, NA_action="raise")
        m, X_med = patsy.dmatrices(roles.mediator_formula, frame, eval_env=eval_env, NA_action="raise")
    except patsy.PatsyError as exc:
        raise FormulaError(f"A formula could not be evaluated on the data: {exc}") from exc
    y = np.asarray(y, dtype=float)
    m = np.asarray(m, dtype=float)
    if y.shape[1] == 2 and set(np.unique(y).tolist()) <= {0.0, 1.0}:
        # A two-level categorical outcome: patsy one-hot encodes it; R's glm models the second level.
        y = y[:, 1:]
    if y.shape[1] != 1:
        raise FormulaError(
            f"The left-hand side of outcome_formula produced {y.shape[1]} columns; it must be one numeric "
            "column (or a two-level factor for a binary outcome)."
        )
    if m.shape[1] != 1:
        raise FormulaError(
            f"The mediator {roles.mediator!r} produced {m.shape[1]} columns; it must be numeric (0/1 for a "
            "binary mediator). Recode it, e.g. (data[col] == level).astype(int)."
        )
    spec = ModelSpec(roles=roles, outcome_info=X_out.design_info, mediator_info=X_med.design_info)
    arrays = {
        "y": y[:, 0],
        "m": m[:, 0],
        "X_outcome": np.asarray(X_out, dtype=float),
        "X_mediator": np.asarray(X_med, dtype=float),
    }
    return spec, arrays


def assign_column(frame: pd.DataFrame, column: str, value) -> None:
    """Set ``frame[column]`` to ``value`` (scalar or array) keeping the column's type (categories included)."""
    original = frame[column]
    n = len(frame)
    if isinstance(original.dtype, pd.CategoricalDtype):
        values = np.full(n, value, dtype=object) if np.ndim(value) == 0 else np.asarray(value, dtype=object)
        frame[column] = pd.Categorical(values, categories=original.cat.categories, ordered=original.cat.ordered)
    elif np.ndim(value) == 0:
        if pd.api.types.is_bool_dtype(original):
            frame[column] = np.full(n, bool(value))
        elif pd.api.types.is_numeric_dtype(original):
            frame[column] = np.full(n, float(value))
        else:
            frame[column] = pd.Series(np.full(n, value, dtype=object), index=frame.index, dtype=original.dtype)
    else:
        frame[column] = np.asarray(value)


def counterfactual_matrix(info: patsy.DesignInfo, frame: pd.DataFrame, overrides: dict) -> np.ndarray:
    """Design matrix of ``frame`` with some columns replaced, built from the stored ``info`` only."""
    return counterfactual_matrices(info, frame, [overrides])[0]


def counterfactual_matrices(info: patsy.DesignInfo, frame: pd.DataFrame, overrides) -> list[np.ndarray]:
    """Design matrices of ``frame`` under several sets of replaced columns, from one patsy evaluation.

    The copies are stacked and evaluated together: patsy's cost is mostly per factor and
    per call, so ten counterfactual designs cost about as much as one.
    """
    copies = []
    for replaced in overrides:
        cf = frame.copy()
        for column, value in replaced.items():
            assign_column(cf, column, value)
        copies.append(cf)
    stacked = copies[0] if len(copies) == 1 else pd.concat(copies, ignore_index=True)
    (matrix,) = patsy.build_design_matrices([info], stacked, NA_action="raise")
    return np.split(np.asarray(matrix, dtype=float), len(copies))


def has_interaction(spec: ModelSpec) -> bool:
    """Whether any outcome-model term involves both the treatment and the mediator (R's INT)."""
    roles = spec.roles
    columns = set(roles.columns)
    for term in spec.outcome_info.terms:
        names: set[str] = set()
        for factor in term.factors:
            names.update(names_in_code(factor.name(), columns))
        if roles.treatment in names and roles.mediator in names:
            return True
    return False


@dataclass(frozen=True)
class CateRoles:
    """Roles read off a ``cate()`` formula ``outcome ~ treatment + covariates``."""

    formula: str
    outcome: str
    treatment: str
    covariates: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Outcome, treatment and covariate columns, in that order."""
        return (self.outcome, self.treatment) + self.covariates


def parse_cate_roles(formula: str, data: pd.DataFrame, treatment: str | None) -> CateRoles:
    """Read outcome, treatment (default: the first right-hand variable) and covariates off ``formula``.

    Every other variable on the right-hand side is a covariate, used as its raw
    column (the learners find nonlinearities and interactions themselves).
    """
    formula = quote_backticks(formula)
    desc = parse_formula(formula, "formula")
    columns = {str(c) for c in data.columns}
    lhs, rhs = term_codes(desc.lhs_termlist), term_codes(desc.rhs_termlist)
    if len(lhs) != 1 or len(lhs[0]) != 1:
        raise FormulaError("Parameter formula needs exactly one variable on its left-hand side (the outcome).")
    namespace = _CallerNamespace.find()
    _check_names(lhs[0][0], data, "formula", role="outcome", namespace=namespace)
    for term in rhs:
        for code in term:
            _check_names(code, data, "formula", namespace=namespace)
    outcome_vars = names_in_code(lhs[0][0], columns)
    if len(outcome_vars) != 1 or outcome_vars[0] != lhs[0][0].strip():
        raise FormulaError(
            f"The left-hand side of formula must be a data column (the outcome); got {lhs[0][0]!r}. Create the "
            "transformed column in data first and use its name."
        )
    outcome = outcome_vars[0]
    rhs_vars = variables_in(rhs, columns)
    if outcome in rhs_vars:
        raise FormulaError(f"The outcome {outcome!r} appears on both sides of formula ({formula!r}); remove it "
                           "from the right-hand side.")
    if treatment is None:
        if not rhs_vars:
            raise FormulaError(f"formula ({formula!r}) has no right-hand variable to use as the treatment; write it "
                               "as 'outcome ~ treat + covariates' or pass treatment=.")
        treatment = rhs_vars[0]
    else:
        _check_treatment_column(treatment, data)
        if treatment == outcome:
            raise FormulaError(f"Parameter treatment={treatment!r} names the outcome (left-hand side of formula); "
                               "the treatment must be on the right-hand side.")
        if treatment not in rhs_vars:
            raise FormulaError(f"The treatment {treatment!r} is missing from the right-hand side of formula "
                               f"({formula!r}). Add it: '{outcome} ~ {treatment} + ...'.")
    covariates = tuple(v for v in rhs_vars if v != treatment)
    return CateRoles(formula=formula, outcome=outcome, treatment=treatment, covariates=covariates)
