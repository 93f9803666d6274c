"""Results of ``MediationResults.sensitivity()``: the rho table, exact crossings, R's summary layout, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead
from mediationhte.core.types import RType, SensitivityParameter, SignProduct
from mediationhte.report.formatting import format_level, latex_tabular
from mediationhte.report.plots import pyplot
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

EFFECT_LABELS = {"acme_average": "ACME", "acme_control": "ACME(control)", "acme_treated": "ACME(treated)",
                 "ade_average": "ADE", "ade_control": "ADE(control)", "ade_treated": "ADE(treated)"}


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _ranges(intervals) -> str:
    return ", ".join(f"[{lo:.4f}, {hi:.4f}]" for lo, hi in intervals) or "nowhere"


@dataclass(frozen=True, eq=False)
class SensitivityResults(CopyOnRead):
    """Sensitivity of the mediation effects to the error correlation rho (immutable; frames returned as copies).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (effect, rho): ``estimate``, ``std_error``, ``ci_lower``,
        ``ci_upper``, ``covers_zero``, ``r2_star_prod`` (rho^2) and ``r2_tilde_prod``
        (rho^2 (1 - R2_M)(1 - R2_Y)).
    crossings : pandas.DataFrame
        Per effect: ``rho_zero`` (exact root; NaN if the effect never reaches 0),
        ``rho_zero_grid`` (R's report: the grid point whose effect is closest to 0),
        the same two in R-squared terms, and ``ci_covers_zero`` (the exact rho
        intervals over which the interval contains 0) with the same ranges in R^2
        terms (``ci_covers_zero_r2_star``, ``ci_covers_zero_r2_tilde``).
    r_squared : tuple of float
        (R2_M, R2_Y) of the fitted mediator and outcome models.
    alpha : float
    seed_used : int or str
        The seed of the coefficient draws (a probit outcome's intervals):
        ``random_state``, or the entropy drawn when it was None.

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
    ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
    >>> sens = fit.sensitivity(effect="both")
    >>> sens.to_frame().loc[("acme_average", 0.0), ["estimate", "r2_star_prod"]].round(6).tolist()
    [-0.015745, 0.0]
    >>> round(sens.rho_at_zero("acme_average"), 4)
    -0.2735
    >>> "Rho at which ACME = 0: -0.3" in sens.as_text()
    True
    >>> sens.summary().to_frame().loc["ACME", "Rho (grid)"]
    np.float64(-0.3)
    """

    table: pd.DataFrame = field(repr=False)
    crossings: pd.DataFrame = field(repr=False)
    r_squared: tuple
    alpha: float
    curves: dict = field(repr=False, default_factory=dict)
    seed_used: object = None

    def to_frame(self) -> pd.DataFrame:
        """The rho table (a copy)."""
        return self.table

    def rho_at_zero(self, effect: str | None = None) -> float:
        """The exact rho at which ``effect`` (default: the first) is zero (the root closest to 0 if several)."""
        row = self.crossings.iloc[0] if effect is None else self.crossings.loc[effect]
        return float(row["rho_zero"])

    def as_text(self) -> str:
        """R's ``summary.medsens`` layout (the sensitivity region, then the crossings) plus the exact values."""
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [""]
        for effect, rows in self.table.groupby(level="effect", sort=False):
            label = EFFECT_LABELS[effect]
            kind = "Average Causal Mediation Effect" if effect.startswith("acme") else "Average Direct Effect"
            lines += [f"Mediation Sensitivity Analysis for {kind}" +
                      ("" if effect.endswith("average") else f": {label}"), "", "Sensitivity Region", ""]
            region = rows.loc[effect][rows.loc[effect, "covers_zero"].to_numpy()]
            header = ["Rho", label, f"{level} CI Lower", f"{level} CI Upper", "R^2_M*R^2_Y*", "R^2_M~R^2_Y~"]
            body = [[_fmt(r), _fmt(v["estimate"]), _fmt(v["ci_lower"]), _fmt(v["ci_upper"]), _fmt(v["r2_star_prod"]),
                     _fmt(v["r2_tilde_prod"])] for r, v in region.iterrows()]
            if body:
                widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
                lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
                lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
            else:
                lines.append("(no rho on the grid gives an interval that covers 0)")
            c = self.crossings.loc[effect]
            lines += ["", f"Rho at which {label} = 0: {c['rho_zero_grid']:.4g}",
                      f"R^2_M*R^2_Y* at which {label} = 0: {c['r2_star_zero_grid']:.4g}",
                      f"R^2_M~R^2_Y~ at which {label} = 0: {c['r2_tilde_zero_grid']:.4g}",
                      "", "Exact values (root finding, not the grid):",
                      f"  rho at which {label} = 0: " + (f"{c['rho_zero']:.6f}" if np.isfinite(c["rho_zero"])
                                                          else "none in (-1, 1)"),
                      f"  R^2_M*R^2_Y* at which {label} = 0: {c['r2_star_zero']:.6f}",
                      f"  R^2_M~R^2_Y~ at which {label} = 0: {c['r2_tilde_zero']:.6f}",
                      f"  {level} interval covers 0 for rho in: " + _ranges(c["ci_covers_zero"]),
                      "    that is, for R^2_M*R^2_Y* in: " + _ranges(c["ci_covers_zero_r2_star"]),
                      "    and for R^2_M~R^2_Y~ in: " + _ranges(c["ci_covers_zero_r2_tilde"]),
                      ""]
        lines.append(f"R^2 of the mediator and outcome models: {self.r_squared[0]:.4f}, {self.r_squared[1]:.4f}")
        return "\n".join(lines) + "\n"

    def as_markdown(self) -> str:
        """The rho table and the crossings as GitHub markdown tables."""
        return (self.table.reset_index().to_markdown(index=False, floatfmt=".4f") + "\n\n"
                + self.crossings.reset_index().to_markdown(index=False, floatfmt=".4f") + "\n")

    def as_latex(self) -> str:
        """The rho table and the crossings as LaTeX tabulars (booktabs)."""
        out = []
        for frame in (self.table.reset_index(),
                      self.crossings.drop(columns=["ci_covers_zero", "all_roots", "ci_covers_zero_r2_star",
                                                   "ci_covers_zero_r2_tilde"]).reset_index()):
            rows = [[v if isinstance(v, str) else (str(v) if isinstance(v, (bool, np.bool_)) else f"{v:.4f}")
                     for v in row] for row in frame.itertuples(index=False)]
            out += latex_tabular(list(frame.columns), rows, "l" + "r" * (frame.shape[1] - 1)) + [""]
        return "\n".join(out)

    def as_html(self) -> str:
        """The rho table and the crossings as HTML tables."""
        return self.table.to_html(float_format="{:.4f}".format) + self.crossings.to_html(float_format="{:.4f}".format)

    def __str__(self) -> str:
        return self.as_text()

    def summary(self) -> Summary:
        """The numbers of R's ``summary.medsens`` as a :class:`~mediationhte.report.summary.Summary`.

        One table of where each effect crosses 0 (R's grid values and the exact
        roots, in rho and in both R^2 products), then per effect R's sensitivity
        region (the grid rows whose interval covers 0); the R^2 of both models
        and the seed in the footer, the exact ranges where the interval covers 0
        in the notes. ``str(result)`` keeps R's own text layout, and
        :meth:`to_frame` the whole rho grid.

        Returns
        -------
        mediationhte.report.summary.Summary

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
        >>> s = fit.sensitivity().summary()
        >>> "Sensitivity region: ACME" in str(s), round(float(s.to_frame().loc["ACME", "Rho (exact)"]), 4)
        (True, -0.2735)
        """
        level = format_level(self.alpha)
        crossings = self.crossings
        labels = [EFFECT_LABELS[e] for e in crossings.index]
        columns = {"Rho (grid)": "rho_zero_grid", "R^2_M*R^2_Y* (grid)": "r2_star_zero_grid",
                   "R^2_M~R^2_Y~ (grid)": "r2_tilde_zero_grid", "Rho (exact)": "rho_zero",
                   "R^2_M*R^2_Y* (exact)": "r2_star_zero", "R^2_M~R^2_Y~ (exact)": "r2_tilde_zero"}
        cross = pd.DataFrame({k: crossings[v].to_numpy(dtype=float) for k, v in columns.items()}, index=labels)
        tables = [StatsTable("Values at which the effect is 0 (grid: R's report; exact: root finding)", cross)]
        notes = []
        for effect, label in zip(crossings.index, labels):
            rows = self.table.loc[effect]
            region = rows[rows["covers_zero"].to_numpy()]
            c = crossings.loc[effect]
            notes.append(f"{label}: the {level}% interval covers 0 for rho in {_ranges(c['ci_covers_zero'])}, that "
                         f"is for R^2_M*R^2_Y* in {_ranges(c['ci_covers_zero_r2_star'])} and for R^2_M~R^2_Y~ in "
                         f"{_ranges(c['ci_covers_zero_r2_tilde'])}.")
            if len(region):
                frame = pd.DataFrame({label: region["estimate"], f"{level}% CI Lower": region["ci_lower"],
                                      f"{level}% CI Upper": region["ci_upper"], "R^2_M*R^2_Y*": region["r2_star_prod"],
                                      "R^2_M~R^2_Y~": region["r2_tilde_prod"]})
                # a blank for the sign keeps the labels aligned, as R prints them
                frame.index = pd.Index([f"{r: .4f}" for r in region.index], name="Rho")
                tables.append(StatsTable(f"Sensitivity region: {label} (rho whose {level}% interval covers 0)",
                                         frame))
            else:
                notes.append(f"{label}: no rho on the grid gives an interval that covers 0.")
        footer = [("R^2 of the mediator model (R^2_M)", f"{self.r_squared[0]:.4f}"),
                  ("R^2 of the outcome model (R^2_Y)", f"{self.r_squared[1]:.4f}")]
        if self.seed_used is not None:
            footer.append(("Seed", str(self.seed_used)))
        return Summary(title="Mediation Sensitivity Analysis", alpha=self.alpha, footer=tuple(footer),
                       models=tuple(tables), notes=tuple(notes))

    def plot(self, ax: Axes | None = None, *, effect: str | None = None, sens_par: SensitivityParameter = "rho",
             r_type: RType = "residual", sign_prod: SignProduct = "positive") -> Axes:
        """R's ``plot.medsens``: the effect against rho with its interval band, or its contours over R^2 products.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        effect : str, optional
            A row of :attr:`crossings` (default the first).
        sens_par : {"rho", "R2"}
        r_type : {"residual", "total"}
            R2*: shares of the residual variances; R~2: of the total variances.
        sign_prod : {"positive", "negative"}
            The sign of rho (the product of the confounder's effects on M and Y).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
        >>> fit.sensitivity().plot(sens_par="R2").get_xlabel()
        'R^2*_M'
        """
        V.check_option("sens_par", sens_par, ("rho", "R2"))
        V.check_option("r_type", r_type, ("residual", "total"))
        V.check_option("sign_prod", sign_prod, ("positive", "negative"))
        effect = self.crossings.index[0] if effect is None else V.check_option("effect", effect,
                                                                              tuple(self.crossings.index))
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4))
        curve = self.curves[effect]
        label = EFFECT_LABELS[effect]
        if sens_par == "rho":
            ax.fill_between(curve["rho"], curve["ci_lower"], curve["ci_upper"], color="0.85")
            ax.plot(curve["rho"], curve["estimate"], color="black")
            ax.axhline(0.0, color="grey", linewidth=0.8)
            root = self.crossings.loc[effect, "rho_zero"]
            if np.isfinite(root):
                ax.axvline(root, color="grey", linestyle=":", linewidth=0.8)
            ax.set_xlabel("Sensitivity parameter: rho")
            ax.set_ylabel(label)
            return ax
        r2_m, r2_y = self.r_squared
        scale = 1.0 if r_type == "residual" else (1 - r2_m) * (1 - r2_y)
        grid = np.linspace(0.0, 1.0 if r_type == "residual" else min(1.0, 1 - r2_m), 101)
        grid_y = np.linspace(0.0, 1.0 if r_type == "residual" else min(1.0, 1 - r2_y), 101)
        gm, gy = np.meshgrid(grid, grid_y)
        rho = np.sqrt(np.clip(gm * gy / scale, 0.0, 0.999 ** 2)) * (1 if sign_prod == "positive" else -1)
        values = np.interp(rho, curve["rho"], curve["estimate"])
        contour = ax.contour(gm, gy, values, levels=12, colors="black", linewidths=0.7)
        ax.clabel(contour, fontsize=7)
        ax.contour(gm, gy, values, levels=[0.0], colors="black", linewidths=1.6)
        star = "*" if r_type == "residual" else "~"
        ax.set_xlabel(f"R^2{star}_M")
        ax.set_ylabel(f"R^2{star}_Y")
        ax.set_title(f"{label}({sign_prod} rho)")
        return ax
