"""Immutable results of the calibrated subgroup search (M-learner steps 2-4), with tables and plots.

:class:`SubgroupResults` joins a :class:`~mediationhte.subgroups.discover.SubgroupFit`
(the chosen profile), a :class:`~mediationhte.subgroups.calibration.Calibration` (the
calibrated p-value) and per-subgroup summaries computed once at construction
(sizes, mean unit effects, optional within-subgroup mediation). Rendering is
deterministic (no dates), through tabulate.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats
from tabulate import tabulate

from mediationhte.core import validation as V
from mediationhte.core.random_state import resolve_seed, spawn_seeds
from mediationhte.core.types import Effect, RandomState, SensitivityEffect
from mediationhte.report.formatting import (
    escape_markdown,
    format_columns_r,
    format_level,
    format_pvalue,
    latex_float_head,
    latex_lines,
    latex_tabular,
)
from mediationhte.subgroups.calibration import Calibration
from mediationhte.errors import MediationHTEError, ParameterError
from mediationhte.subgroups.discover import SubgroupFit
from mediationhte.core.immutable import CopyOnRead
from mediationhte.core.parallel import native_thread_budget
from mediationhte.report.plots import pyplot
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import EFFECT_LABELS, Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SubgroupResults"]

TITLE = "Calibrated subgroups (M-learner)"
#: Labels of step-1 unit-effect columns (means per subgroup); unknown columns print as their name.
UNIT_EFFECT_LABELS = {
    "cie": "CIE", "cie_treated": "CIE (treated)", "cie_control": "CIE (control)", "cde": "CDE",
    "cde_control": "CDE (control)", "cde_treated": "CDE (treated)", "te": "TE", "cate": "CATE",
}
RESPONSE_LABELS = {"mediator": "p_leaf (mediator)", "outcome": "p_leaf (outcome)"}
_RULE_WIDTH = 44
_NO_PROFILE_RULE = "(all units: no profile found)"


def _format_p_leaf(p: float) -> str:
    """p_leaf can be astronomically small and is compared across K, so small values keep their magnitude."""
    return format_pvalue(p) if not np.isfinite(p) or p >= 0.001 else f"{p:.2e}"


def _flag_unstable_ratios(frame: pd.DataFrame, estimands) -> list[int]:
    """Add ``<prop estimand>_ratio_unstable`` columns (as ``mediate()``'s ``ratio_unstable``); return flagged subgroups.

    A subgroup's proportion mediated is flagged when its total effect's interval
    covers 0 (the ratio's denominator may be 0) or when the estimate lies outside
    its own percentile interval (the draws of a ratio with a near-zero denominator).
    """
    if "total_ci_lower" not in frame.columns:
        return []
    covers = (frame["total_ci_lower"] <= 0) & (frame["total_ci_upper"] >= 0)
    flagged = pd.Series(False, index=frame.index)
    for e in estimands:
        if not str(e).startswith("prop_mediated") or f"{e}_ci_lower" not in frame.columns:
            continue
        outside = (frame[e] < frame[f"{e}_ci_lower"]) | (frame[e] > frame[f"{e}_ci_upper"])
        frame[f"{e}_ratio_unstable"] = (covers | outside).to_numpy(dtype=bool)
        flagged |= frame[f"{e}_ratio_unstable"]
    return [int(g) for g in frame.index[flagged]]


@dataclass(frozen=True, eq=False)
class SubgroupResults(CopyOnRead):
    """Calibrated subgroups of heterogeneous effects (immutable; frames returned as copies).

    Build it with :meth:`build`. Subgroups are numbered 1..L, left to right in
    the profile's tree.

    Attributes
    ----------
    fit : SubgroupFit
        The search: K*, the profile, the embedding, the per-K table.
    calibration_result : Calibration
        The calibration that produced :attr:`p_value`.
    alpha : float
        Heterogeneity is declared iff ``p_value < alpha`` (``p_threshold`` in
        threshold mode).
    index : pandas.Index
        The user's row labels.
    effect : str
        Which effect was embedded (e.g. ``"indirect"``), for the header.
    notes : tuple of str
        Notes printed under the tables.
    seed_used : int or str
        The seed of the search (``random_state`` of ``subgroups()``, or the
        entropy drawn when it was None); None for results built by hand.
    """

    fit: SubgroupFit = field(repr=False)
    calibration_result: Calibration
    alpha: float
    index: pd.Index = field(repr=False)
    frame: pd.DataFrame = field(repr=False)
    unit_effect_columns: tuple = ()
    estimands: tuple = ()
    effect: str = ""
    notes: tuple = ()
    subgroup_fitter: Callable | None = field(repr=False, default=None)
    seed_used: object = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, fit: SubgroupFit, calibration: Calibration, *, treatment: np.ndarray, index: pd.Index | None = None,
              unit_effects: pd.DataFrame | None = None,
              subgroup_mediation: Callable[[np.ndarray], pd.DataFrame] | None = None, alpha: float = 0.05,
              effect: Effect | Literal[""] = "") -> SubgroupResults:
        """Summarise every subgroup once and freeze the result.

        Parameters
        ----------
        fit : SubgroupFit
        calibration : Calibration
        treatment : array_like of 0/1, shape (n,)
        index : pandas.Index, optional
            Row labels of the n units (default 0..n-1).
        unit_effects : pandas.DataFrame, optional
            n rows (in the units' order) of unit-level effects, e.g. ``cie_treated``,
            ``cde_control``, ``te``; their means per subgroup become columns
            ``mean_<column>``.
        subgroup_mediation : callable ``(mask) -> DataFrame``, optional
            Called once per subgroup with a boolean mask of its units; returns a
            frame indexed by estimand (e.g. ``acme_average, ade_average, total,
            prop_mediated_average``) with columns ``estimate, ci_lower, ci_upper``
            and optionally ``p_value``. Each estimand ``e`` becomes columns ``e,
            e_ci_lower, e_ci_upper, e_p_value``, in the order returned. A
            :class:`~mediationhte.errors.MediationHTEError` for one subgroup (e.g.
            only one arm in it) leaves NaN there and a note.
        alpha : float, default 0.05
        effect : str, optional

        Returns
        -------
        SubgroupResults
        """
        labels = np.asarray(fit.labels)
        n = len(labels)
        t = np.asarray(treatment)
        if t.shape != (n,):
            raise ParameterError(f"Parameter treatment must have {n} values; got shape {t.shape}.",
                                 parameter="treatment")
        index = pd.RangeIndex(n) if index is None else pd.Index(index)
        if len(index) != n:
            raise ParameterError(f"Parameter index must have {n} labels; got {len(index)}.", parameter="index")
        alpha = V.check_alpha(alpha)
        rules = fit.profile.rules if fit.profile is not None else (_NO_PROFILE_RULE,)
        frame = pd.DataFrame(
            {"rule": list(rules),
             "n": np.bincount(labels, minlength=len(rules)),
             "n_treated": np.bincount(labels, weights=(t == 1), minlength=len(rules)).astype(int),
             "n_control": np.bincount(labels, weights=(t == 0), minlength=len(rules)).astype(int)},
            index=pd.Index(np.arange(1, len(rules) + 1), name="subgroup"),
        )
        unit_cols: tuple = ()
        if unit_effects is not None:
            if not isinstance(unit_effects, pd.DataFrame) or len(unit_effects) != n:
                raise ParameterError(f"Parameter unit_effects must be a DataFrame with {n} rows.",
                                     parameter="unit_effects")
            unit_cols = tuple(str(c) for c in unit_effects.columns)
            means = unit_effects.groupby(labels, sort=True).mean()
            for col in unit_effects.columns:
                frame[f"mean_{col}"] = means[col].reindex(range(len(rules))).to_numpy(dtype=float)
        estimands: list[str] = []
        notes = []
        if calibration.subgroup_effects is not None:
            estimands.append("subgroup_effect")
            held = calibration.subgroup_effects
            z = held["estimate"].to_numpy(dtype=float) / held["std_error"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                p_zero = 2 * stats.norm.sf(np.abs(z))
            for col, values in (("", held["estimate"]), ("_ci_lower", held["ci_lower"]),
                                ("_ci_upper", held["ci_upper"]), ("_p_value", p_zero)):
                frame["subgroup_effect" + col] = np.asarray(values, dtype=float)
            notes.append("Effect searched (held-out): the subgroup's mean pseudo-outcome of the searched effect on "
                         "the half that did not choose the subgroups, with a robust interval; Welch's test that the "
                         f"subgroups' effects are all equal gives p = {calibration.p_subgroups:.4g}.")
        if calibration.heterogeneity is not None and not np.isfinite(calibration.p_value):
            notes.append(calibration.heterogeneity.note)
        if subgroup_mediation is not None:
            results = {}
            for g in range(len(rules)):
                try:
                    results[g] = subgroup_mediation(labels == g)
                except MediationHTEError as exc:
                    notes.append(f"Subgroup {g + 1}: within-subgroup mediation failed ({exc})")
                    continue
                for e in results[g].index:
                    if str(e) not in estimands:
                        estimands.append(str(e))
            for e in estimands:
                if e == "subgroup_effect":   # filled above from the calibration, not by the mediation fits
                    continue
                for col, suffix in (("estimate", ""), ("ci_lower", "_ci_lower"), ("ci_upper", "_ci_upper"),
                                    ("p_value", "_p_value")):
                    frame[e + suffix] = [
                        float(results[g].loc[e, col]) if g in results and e in results[g].index
                        and col in results[g].columns else np.nan for g in range(len(rules))
                    ]
        unstable = _flag_unstable_ratios(frame, estimands)
        if unstable:
            notes.append(f"Proportion mediated flagged ratio_unstable in subgroup(s) {', '.join(map(str, unstable))}: "
                         "the subgroup's total effect has an interval covering 0 (or the estimate falls outside its "
                         "own interval), so the ratio and its interval are unstable; read the ACME and ADE instead.")
        if fit.settings.get("constant_effects"):
            notes.append("The unit effects do not vary (their spread is floating-point rounding): the models have "
                         "no treatment x covariate interaction or the learner found none, so there are no "
                         "subgroups to find and none are reported.")
        if fit.response == "mediator":
            notes.insert(0, "p_leaf (mediator) tests whether the treatment effect on the mediator differs between "
                            "the subgroups (the a-path), not the indirect effect itself.")
        if calibration.method == "threshold":
            notes.append("p_leaf is not calibrated: it is minimised over K and over the tree, so comparing it with "
                         "a fixed threshold does not control the Type I error on these data. Use "
                         "calibration='permutation' or 'split' for a valid test.")
        return cls(fit, calibration, alpha, index, frame, unit_cols, tuple(estimands), str(effect), tuple(notes))

    @native_thread_budget
    def sensitivity(self, rho: Sequence[float] | np.ndarray | None = None, effect: SensitivityEffect = "indirect",
                    alpha: float | None = None, *, random_state: RandomState = None) -> pd.DataFrame:
        """Per-subgroup sensitivity: the exact rho at which each subgroup's ACME (or ADE) is zero.

        Each subgroup's linear mediation (the same models and rows as its
        within-subgroup mediation; the held-out half with ``calibration="split"``)
        goes through :meth:`MediationResults.sensitivity`, so users see which
        subgroup findings would vanish under weak mediator-outcome confounding.

        Returns
        -------
        pandas.DataFrame
            Index (subgroup, effect); columns ``rule``, ``estimate`` (at rho = 0),
            ``rho_zero`` (exact), ``rho_zero_grid`` (R's report), ``r2_star_zero``,
            ``r2_tilde_zero`` and ``ci_covers_zero`` (the rho ranges where the interval
            covers 0); the attribute ``attrs["results"]`` holds each subgroup's
            SensitivityResults and ``attrs["seed_used"]`` the seed.

        Other Parameters
        ----------------
        random_state : None, int or numpy.random.Generator
            Seeds the coefficient draws of a probit outcome (one child seed per
            subgroup; a Gaussian outcome needs none). None: fresh entropy,
            recorded in ``attrs["seed_used"]``.

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat * (econ_hard + sex) + job_seek", "job_seek ~ treat * (econ_hard + sex)",
        ...               data=load_jobs(), sims=50, random_state=1)
        >>> sub = fit.subgroups(k=[2], calibration="threshold", p_threshold=0.0043, n_boot=20, random_state=1)
        >>> list(sub.sensitivity().columns)[:3]
        ['rule', 'estimate', 'rho_zero']
        """
        if self.subgroup_fitter is None:
            raise ParameterError("sensitivity() needs the within-subgroup mediation models, which this analysis "
                                 "does not have (a total-effect analysis, or subgroups built by hand).",
                                 parameter="effect")
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        rng, seed_used = resolve_seed(random_state)
        labels = np.asarray(self.fit.labels)
        rules = object.__getattribute__(self, "frame")["rule"]
        seeds = spawn_seeds(rng, len(rules))
        rows, results = [], {}
        for g, rule in enumerate(rules, start=1):
            fit = self.subgroup_fitter(labels == g - 1)
            sens = fit.sensitivity(rho, effect=effect, alpha=alpha, random_state=int(seeds[g - 1]))
            results[g] = sens
            at_zero = sens.table.xs(0.0, level="rho") if 0.0 in sens.table.index.get_level_values("rho") else None
            for key, c in sens.crossings.iterrows():
                rows.append({"subgroup": g, "effect": key, "rule": rule,
                             "estimate": float(fit.point_estimates[key]) if at_zero is None
                             else float(at_zero.loc[key, "estimate"]),
                             "rho_zero": c["rho_zero"], "rho_zero_grid": c["rho_zero_grid"],
                             "r2_star_zero": c["r2_star_zero"], "r2_tilde_zero": c["r2_tilde_zero"],
                             "ci_covers_zero": c["ci_covers_zero"]})
        out = pd.DataFrame(rows).set_index(["subgroup", "effect"])
        out.attrs["results"] = results
        out.attrs["seed_used"] = seed_used
        return out

    # ------------------------------------------------------------------ accessors
    @property
    def labels(self) -> pd.Series:
        """Subgroup (1..L) of every unit, indexed like the user's rows."""
        return pd.Series(np.asarray(self.fit.labels) + 1, index=self.index, name="subgroup")

    @property
    def p_value(self) -> float:
        """The calibrated p-value: the BLP test's (blp), permutation, held-out p_leaf (split) or raw p_leaf."""
        return self.calibration_result.p_value

    @property
    def heterogeneity_test(self):
        """The BLP test and GATES (:class:`~mediationhte.inference.heterogeneity.HeterogeneityTest`), blp mode only."""
        return self.calibration_result.heterogeneity

    @property
    def p_subgroups(self) -> float:
        """calibration="blp": held-out test that the subgroups' effects are equal, else NaN.

        Welch's heteroskedastic F; a CR2 Wald test with clusters.
        """
        return self.calibration_result.p_subgroups

    @property
    def p_leaf(self) -> float:
        """Minimum p_leaf over K on the full sample (not a valid p-value by itself)."""
        return self.fit.p_leaf

    @property
    def k(self) -> int | None:
        """K*, the number of K-means clusters whose profile was chosen."""
        return self.fit.k

    @property
    def tree(self):
        """The chosen profile's :class:`~mediationhte.subgroups.discover.PrunedTree` (None without one)."""
        return None if self.fit.profile is None else self.fit.profile.tree

    @property
    def rules(self) -> tuple:
        """Rule text of subgroups 1..L."""
        return tuple(object.__getattribute__(self, "frame")["rule"])

    @property
    def calibration(self) -> str:
        """Calibration method: ``"blp"``, ``"permutation"``, ``"split"`` or ``"threshold"``."""
        return self.calibration_result.method

    @property
    def heterogeneous(self) -> bool:
        """True iff heterogeneity is declared (calibrated p < alpha; p_leaf < p_threshold in threshold mode)."""
        if self.calibration == "threshold":
            return self.calibration_result.heterogeneous
        return bool(self.p_value < self.alpha)

    @property
    def k_table(self) -> pd.DataFrame:
        """One row per K: ``k, n_leaves, p_leaf_m, p_leaf_y, cv_error`` (a copy)."""
        return self.fit.k_table

    @property
    def embedding(self) -> np.ndarray:
        """The embedding the clusters were found in (read-only)."""
        return self.fit.embedding

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (index ``subgroup`` = 1..L), raw numbers, as a new DataFrame.

        Columns: ``rule, n, n_treated, n_control``, ``mean_<effect>`` for each
        unit-effect column, and ``e, e_ci_lower, e_ci_upper, e_p_value`` for each
        within-subgroup mediation estimand ``e``.
        """
        return self.frame

    def summary(self) -> Summary:
        """The calibrated test, the search over K and the subgroups as a :class:`~mediationhte.report.summary.Summary`.

        ``str()``, :meth:`as_latex` and :meth:`as_html` keep this object's own
        paper layout (rules wrapped, p_leaf with its magnitude); the Summary
        gives the same numbers in the package's common layout.

        Returns
        -------
        mediationhte.report.summary.Summary
            Footer: the effect, the calibration, the test line and the seed;
            tables: the search over K, one row per subgroup and, if computed,
            the within-subgroup mediation.

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
        ...               base_learner="linear", random_state=0)
        >>> s = fit.subgroups(k=[2], calibration="split", random_state=2).summary()
        >>> s.to_frame(table="Subgroups")["n"].tolist(), "Held-out p_leaf: 0.082" in str(s)
        ([381.0, 518.0], True)
        """
        footer, notes = [], []
        for line in self._header_lines()[1:]:
            label, sep, value = line.partition(": ")
            (footer.append((label, value)) if sep else notes.append(line))
        if self.seed_used is not None:
            footer.append(("Seed", str(self.seed_used)))
        k = self.k_table.set_index("k").rename(columns={"n_leaves": "Subgroups", "p_leaf_m": RESPONSE_LABELS[
            "mediator"], "p_leaf_y": RESPONSE_LABELS["outcome"], "cv_error": "CV error"})
        k.index = [f"K = {int(v)}" for v in k.index]
        if self.fit.response == "outcome":  # no mediator: drop the empty column
            k = k.drop(columns=RESPONSE_LABELS["mediator"])
        frame = object.__getattribute__(self, "frame")
        ids = [f"{g}: {rule}" for g, rule in zip(frame.index, frame["rule"])]
        groups = pd.DataFrame({"n": frame["n"], "Treated": frame["n_treated"], "Control": frame["n_control"],
                               **{f"Mean {UNIT_EFFECT_LABELS.get(c, c)}": frame[f"mean_{c}"]
                                  for c in self.unit_effect_columns}}).set_axis(ids)
        tables = [StatsTable("Search over K", k, p_columns=tuple(c for c in k.columns if c.startswith("p_leaf"))),
                  StatsTable("Subgroups", groups)]
        if self.estimands:
            level = format_level(self.alpha)
            rows = {f"{g}: {EFFECT_LABELS.get(e, e)}": {
                "Estimate": frame.loc[g, e], f"{level}% CI Lower": frame.loc[g, f"{e}_ci_lower"],
                f"{level}% CI Upper": frame.loc[g, f"{e}_ci_upper"], "p-value": frame.loc[g, f"{e}_p_value"]}
                for g in frame.index for e in self.estimands}
            tables.append(StatsTable("Within-subgroup effects", pd.DataFrame(rows).T, p_columns=("p-value",)))
        return Summary(title=TITLE, alpha=self.alpha, n_obs=len(self.index), footer=tuple(footer),
                       models=tuple(tables), notes=(*notes, *self.notes))

    # ------------------------------------------------------------------ cells shared by the renderers
    def _header_lines(self) -> list[str]:
        cal = self.calibration_result
        lines = [TITLE]
        if self.effect:
            lines.append(f"Effect: {self.effect}")
        lines.append(f"Calibration: {cal.describe()}")
        response = "mediator" if self.fit.response == "mediator" else "outcome"
        if self.calibration == "threshold":
            verdict = "declared" if self.heterogeneous else "not declared"
            lines.append(f"p_leaf ({response}) = {_format_p_leaf(self.p_value)} vs p* = {cal.threshold:g}: "
                         f"heterogeneity {verdict} (uncalibrated)")
        elif self.calibration == "blp":
            sign = "<" if self.heterogeneous else ">="
            verdict = "declared" if self.heterogeneous else "not declared"
            decision = (f"{format_pvalue(self.p_value)} ({sign} alpha = {self.alpha:g}): heterogeneity {verdict}"
                        if np.isfinite(self.p_value) else "NA: not tested (see the notes)")
            lines.append(f"Heterogeneity test (BLP, null of one common effect): {decision}")
            kind = "CR2 Wald" if cal.heterogeneity.cov_type == "CR2" else "Welch"
            lines.append(f"Subgroup effects differ (held-out {kind} test): {format_pvalue(cal.p_subgroups)}")
            lines.append(f"Held-out p_leaf ({response}): {_format_p_leaf(cal.p_leaf)}")
        else:
            label = "Calibrated p-value" if self.calibration == "permutation" else "Held-out p_leaf"
            sign = "<" if self.heterogeneous else ">="
            verdict = "declared" if self.heterogeneous else "not declared"
            lines.append(f"{label}: {format_pvalue(self.p_value, cal.p_floor)} ({sign} alpha = {self.alpha:g}): "
                         f"heterogeneity {verdict}")
        if self.k is None:
            lines.append("No K gave a tree with 2 or more leaves.")
        else:
            lines.append(f"Minimum p_leaf ({response}): {_format_p_leaf(self.p_leaf)} at K = {self.k} "
                         f"({len(self.rules)} subgroups)")
        return lines

    def _k_cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        table = self.k_table
        headers = ["K", "Subgroups", RESPONSE_LABELS["mediator"], RESPONSE_LABELS["outcome"], "CV error"]
        rows = []
        for _, r in table.iterrows():
            rows.append([str(int(r["k"])), str(int(r["n_leaves"])), _format_p_leaf(r["p_leaf_m"]),
                         _format_p_leaf(r["p_leaf_y"]),
                         "NA" if not np.isfinite(r["cv_error"]) else f"{r['cv_error']:.3f}"])
        if self.fit.response == "outcome":  # no mediator: drop the empty column
            headers.pop(2)
            rows = [r[:2] + r[3:] for r in rows]
        return headers, rows, ["right"] * len(headers)

    def _subgroup_cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        frame = object.__getattribute__(self, "frame")
        headers = ["ID", "Rule", "n", "Treated", "Control"]
        columns = [[str(i) for i in frame.index], list(frame["rule"]), *(
            [str(int(v)) for v in frame[c]] for c in ("n", "n_treated", "n_control"))]
        align = ["right", "left", "right", "right", "right"]
        for col in self.unit_effect_columns:
            headers.append(f"Mean {UNIT_EFFECT_LABELS.get(col, col)}")
            columns.append(format_columns_r(frame[f"mean_{col}"].to_numpy(), digits=3))
            align.append("right")
        return headers, [list(r) for r in zip(*columns)], align

    def _mediation_cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        """Long table: one row per subgroup and within-subgroup estimand (empty without estimands)."""
        frame = object.__getattribute__(self, "frame")
        level = format_level(self.alpha)
        headers = ["ID", "Effect", "Estimate", f"{level}% CI Lower", f"{level}% CI Upper", "p-value"]
        rows = []
        for g in frame.index:
            for e in self.estimands:
                values = frame.loc[g, [e, f"{e}_ci_lower", f"{e}_ci_upper"]].to_numpy(dtype=float)
                rows.append([str(g), EFFECT_LABELS.get(e, e), *format_columns_r(values, digits=3),
                             format_pvalue(frame.loc[g, f"{e}_p_value"])])
        return headers, rows, ["right", "left", "right", "right", "right", "right"]

    def _tables(self) -> list[tuple[str, tuple]]:
        out = [("Search over K", self._k_cells()), ("Subgroups", self._subgroup_cells())]
        if self.estimands:
            out.append(("Within-subgroup effects", self._mediation_cells()))
        return out

    def _note_lines(self) -> list[str]:
        return [f"[{i}] {note}" for i, note in enumerate(self.notes, start=1)]

    # ------------------------------------------------------------------ renderers
    def as_text(self) -> str:
        """Paper-ready plain text: header, the search over K, the subgroup table, notes."""
        lines = self._header_lines()
        out = [lines[0], "", *lines[1:]]
        for title, (headers, rows, align) in self._tables():
            widths = [_RULE_WIDTH if h == "Rule" else None for h in headers]
            out += ["", title, tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True,
                                        colalign=align, maxcolwidths=widths)]
        if self.notes:
            out += ["", "Notes:", *self._note_lines()]
        return "\n".join(line.rstrip() for text in out for line in text.split("\n")) + "\n"

    def __str__(self) -> str:
        """Return :meth:`as_text`."""
        return self.as_text()

    def __repr__(self) -> str:
        """Short description."""
        return (f"<SubgroupResults: K={self.k}, {len(self.rules)} subgroups, calibration={self.calibration!r}, "
                f"p_value={self.p_value:.4g}>")

    def as_latex(self, caption: str | None = None, label: str | None = None) -> str:
        r"""LaTeX ``table`` float with booktabs tabulars (needs ``\usepackage{booktabs}``); all text escaped."""
        out = latex_float_head(self._header_lines(), caption, label)
        for i, (title, (headers, rows, align)) in enumerate(self._tables()):
            if i:
                out.append(r"\par\medskip")
            out += [latex_lines([title]) + r"\par", r"\smallskip"]
            out += latex_tabular(headers, rows, "".join(a[0] for a in align))
        if self.notes:
            out += [r"\par\smallskip", r"{\footnotesize " + latex_lines(["Notes:", *self._note_lines()]) + r"\par}"]
        out.append(r"\end{table}")
        return "\n".join(out) + "\n"

    def as_html(self) -> str:
        """HTML fragment: text in ``<p>`` tags, tables from tabulate's ``"html"`` format (cells escaped)."""
        def para(lines, strong=False):
            body = "<br>\n".join(html.escape(s, quote=False) for s in lines)
            return f"<p><strong>{body}</strong></p>" if strong else f"<p>{body}</p>"

        head = self._header_lines()
        out = ['<div class="mediationhte-subgroups">', para(head[:1], strong=True), para(head[1:])]
        for title, (headers, rows, align) in self._tables():
            out.append(para([title], strong=True))
            out.append(str(tabulate(rows, headers=headers, tablefmt="html", disable_numparse=True, colalign=align)))
        if self.notes:
            out.append(para(["Notes:", *self._note_lines()]))
        out.append("</div>")
        return "\n".join(out) + "\n"

    def as_markdown(self) -> str:
        """GitHub-flavoured markdown: the title as a heading, pipe tables (tabulate ``"pipe"``), escaped text."""
        md = escape_markdown
        head = self._header_lines()
        out = [f"## {md(head[0])}", "", *(x for line in head[1:] for x in (md(line), ""))]
        for title, (headers, rows, align) in self._tables():
            body = [[md(c) for c in r] for r in rows]
            out += [f"### {md(title)}", "", str(tabulate(body, headers=[md(h) for h in headers], tablefmt="pipe",
                                                         disable_numparse=True, colalign=align)), ""]
        if self.notes:
            out += [md("Notes:"), "", *(f"- {md(line)}" for line in self._note_lines()), ""]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.as_html()

    # ------------------------------------------------------------------ plots
    def plot(self, ax: Axes | None = None) -> Axes:
        """Scatter of the embedding coloured by subgroup (a strip plot for a 1-D embedding); returns the Axes."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 5.5 + 0.3 * len(self.rules)), layout="constrained")
        z = np.asarray(self.embedding)
        labels = np.asarray(self.fit.labels)
        one_d = z.ndim == 1 or z.shape[1] == 1
        if one_d:  # deterministic vertical jitter around each subgroup's row
            y = labels + np.random.default_rng(0).uniform(-0.3, 0.3, size=len(labels))
        for g, rule in enumerate(self.rules):
            sel = labels == g
            ax.scatter(z[sel, 0], y[sel] if one_d else z[sel, 1], s=8, alpha=0.7,
                       label=textwrap.fill(f"{g + 1}: {rule}", 70, subsequent_indent="    "))
        if one_d:
            ax.set_yticks(range(len(self.rules)))
            ax.set_yticklabels([str(g + 1) for g in range(len(self.rules))])
            ax.set_xlabel("standardised effect")
            ax.set_ylabel("subgroup")
        else:
            ax.set_xlabel("t-SNE 1" if self.fit.settings.get("embedding") == "tsne" else "effect 1")
            ax.set_ylabel("t-SNE 2" if self.fit.settings.get("embedding") == "tsne" else "effect 2")
        ax.set_title(f"Subgroups (K = {self.k})")
        # Below the axes: the rules are long, and over the points they hide the embedding.
        ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(0.0, -0.12), markerscale=2)
        return ax

    def plot_effects(self, ax: Axes | None = None, *, estimand: str | None = None) -> Axes:
        """Forest plot of a within-subgroup estimand (default the average ACME) with its intervals.

        Raises
        ------
        mediationhte.errors.ParameterError
            If no within-subgroup mediation was computed, or ``estimand`` is not one of them.
        """
        if not self.estimands:
            raise ParameterError("No within-subgroup mediation estimates to plot: they are computed when "
                                 "subgroup_mediation is given.", parameter="estimand")
        if estimand is None:
            estimand = "acme_average" if "acme_average" in self.estimands else self.estimands[0]
        V.check_option("estimand", estimand, self.estimands)
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.7 * len(self.rules) + 1.5), layout="constrained")
        frame = object.__getattribute__(self, "frame")
        pos = np.arange(len(frame))[::-1].astype(float)
        ax.hlines(pos, frame[f"{estimand}_ci_lower"], frame[f"{estimand}_ci_upper"], colors="black")
        ax.plot(frame[estimand], pos, "o", color="black")
        ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_yticks(pos)
        ax.set_yticklabels([textwrap.fill(f"{g}: {r}  (n={n})", 45, subsequent_indent="  ")
                            for g, r, n in zip(frame.index, frame["rule"], frame["n"])], fontsize="small")
        ax.set_xlabel(f"{EFFECT_LABELS.get(estimand, estimand)} with {format_level(self.alpha)}% interval")
        return ax
