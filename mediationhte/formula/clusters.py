"""The cluster-randomised path of ``cate()``: take the ``(1 | cluster)`` term out and read the roles of the rest.

patsy cannot parse lme4's bar terms, so a small pre-parser removes the single
random-intercept term first and hands the fixed part to patsy. In the fixed
part, covariates that interact with the treatment (``treat * (age + sex)`` or
``treat:age``) are the effect modifiers; covariates entering as main effects only
are prognostic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from mediationhte.core.validation import check_columns_exist
from mediationhte.errors import FormulaError
from mediationhte.formula.parse import names_in_code, parse_cate_roles, parse_formula, term_codes, variables_in
from mediationhte.formula.smooths import extract_smooths

#: A parenthesised bar term: "( lhs | rhs )".
_BAR = re.compile(r"\(\s*([^()|]*?)\s*\|\s*([^()|]*?)\s*\)")


@dataclass(frozen=True)
class CrtRoles:
    """Roles of a cluster-randomised ``cate()`` formula.

    Attributes
    ----------
    formula : str
        The user's formula.
    fixed_formula : str
        The formula without the random-intercept term (handed to patsy).
    outcome, treatment, cluster : str
    modifiers : tuple of str
        Covariates that interact with the treatment in the formula.
    prognostic : tuple of str
        Covariates that enter as main effects only.
    smooths : tuple of (str, int)
        Columns written ``s(x)`` or ``s(x, k=K)``, with K (for ``learner="gamm"``).
    """

    formula: str
    fixed_formula: str
    outcome: str
    treatment: str
    cluster: str
    modifiers: tuple[str, ...]
    prognostic: tuple[str, ...]
    smooths: tuple[tuple[str, int], ...] = ()

    @property
    def covariates(self) -> tuple[str, ...]:
        """Modifiers then prognostic covariates (every covariate of the formula)."""
        return self.modifiers + self.prognostic

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column used: outcome, treatment, covariates, cluster."""
        return (self.outcome, self.treatment) + self.covariates + (self.cluster,)


def has_bar_term(formula) -> bool:
    """True if ``formula`` is a string with an lme4-style ``( ... | ... )`` term."""
    return isinstance(formula, str) and "|" in formula and bool(_BAR.search(formula))


def split_random_intercept(formula: str) -> tuple[str, str]:
    """Remove the one ``(1 | cluster)`` term: return (fixed formula, cluster column name).

    Refuses a random treatment slope (not identifiable in a cluster-randomised
    trial: each cluster sees one arm), nested or crossed grouping, and more than
    one bar term, each with the reason.
    """
    bars = list(_BAR.finditer(formula))
    if len(bars) != 1:
        raise FormulaError(f"formula ({formula!r}) must hold exactly one random-intercept term such as "
                           f"'(1 | clinic)'; found {len(bars)}.")
    match = bars[0]
    lhs, group = match.group(1).strip(), match.group(2).strip()
    if lhs != "1":
        raise FormulaError(
            f"formula: the random-effects term ({match.group(0)!r}) must be a random intercept '(1 | {group})'. A "
            "random treatment slope is not identifiable in a cluster-randomised trial (each cluster sees only one "
            "arm), and random covariate slopes are not supported.")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", group):
        raise FormulaError(f"formula: the grouping factor of {match.group(0)!r} must be one column name; nested or "
                           f"crossed grouping ({group!r}) is not supported.")
    fixed = formula[:match.start()] + formula[match.end():]
    # drop the '+' the term leaves behind: "y ~ a + (1|g)" -> "y ~ a", "y ~ (1|g) + a" -> "y ~ a"
    fixed = re.sub(r"\+\s*(\+|$)", r"\1", fixed.strip())
    fixed = re.sub(r"~\s*\+", "~ ", fixed).strip()
    fixed = re.sub(r"\+\s*$", "", fixed).strip()
    if fixed.rstrip().endswith("~"):
        raise FormulaError(f"formula ({formula!r}) has no fixed right-hand side; write 'y ~ treat * (x1 + x2) + "
                           f"(1 | {group})'.")
    return fixed, group


def parse_crt_roles(formula: str, data: pd.DataFrame, treatment: str | None) -> CrtRoles:
    """Roles of a formula with a random intercept; see the module docstring for the rules.

    The treatment is ``treatment`` if given, otherwise the variable shared by
    every interaction term, otherwise the first right-hand variable.
    """
    fixed, cluster = split_random_intercept(formula)
    fixed, smooths = extract_smooths(fixed)
    check_columns_exist([cluster], data, "formula (grouping factor of the random intercept)", role="cluster")
    desc = parse_formula(fixed, "formula")
    columns = {str(c) for c in data.columns}
    rhs = term_codes(desc.rhs_termlist)
    term_vars = [[v for code in term for v in names_in_code(code, columns)] for term in rhs]
    interactions = [set(vs) for vs in term_vars if len(set(vs)) > 1]
    if treatment is None and interactions:
        shared = set.intersection(*interactions)
        ordered = [v for v in variables_in(rhs, columns) if v in shared]
        if not ordered:
            raise FormulaError(f"formula ({formula!r}): the interaction terms share no variable, so the treatment "
                               "cannot be read off; pass treatment=.")
        treatment = ordered[0]
    roles = parse_cate_roles(fixed, data, treatment)
    if cluster in (roles.outcome, roles.treatment) or cluster in roles.covariates:
        raise FormulaError(f"formula: the cluster id {cluster!r} must not appear outside '(1 | {cluster})'; it is "
                           "never a feature (a cluster's effect is the random intercept).")
    modifiers = [v for v in roles.covariates if any(v in s and roles.treatment in s for s in interactions)]
    prognostic = [v for v in roles.covariates if v not in modifiers]
    return CrtRoles(formula=formula, fixed_formula=fixed, outcome=roles.outcome, treatment=roles.treatment,
                    cluster=cluster, modifiers=tuple(modifiers), prognostic=tuple(prognostic), smooths=smooths)
