"""Summary tables: every human-readable label and every renderer of the package.

A :class:`Summary` holds numbers only (raw floats in DataFrames) and renders
them on demand as text in the layout of R's ``print.summary.mediate``
(:meth:`Summary.as_text`), LaTeX, HTML or GitHub markdown, or returns them as
DataFrames in a tidy, an R-like or a statsmodels-like shape
(:meth:`Summary.to_frame`). Rendering is deterministic (no dates or times), so
the output can be compared with golden files.
"""

from __future__ import annotations

import html
import numbers
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tabulate import tabulate

from mediationhte.core.types import FrameStyle
from mediationhte.report.formatting import (
    SIGNIF_LEGEND,
    escape_latex,
    escape_markdown,
    format_columns_r,
    format_level,
    format_pvalue,
    latex_float_head,
    latex_lines,
    latex_tabular,
    signif_stars,
    text_table,
)
from mediationhte.core.immutable import CopyOnRead
from mediationhte.errors import ParameterError
from mediationhte.report.labels import (
    EFFECT_KEYS,
    EFFECT_LABELS,
    METHOD_LINES,
    SHORT_FORM,
    STATSMODELS_LABELS,
    flag_unstable_ratio,
)
from mediationhte.report.model_table import COEF_COLUMNS, ModelTable, label_pairs, numeric_frame
from mediationhte.report.stats_table import StatsTable

__all__ = [
    "EFFECT_KEYS",
    "EFFECT_LABELS",
    "METHOD_LINES",
    "SHORT_FORM",
    "STATSMODELS_LABELS",
    "flag_unstable_ratio",
    "ModelTable",
    "StatsTable",
    "Summary",
    "escape_latex",
    "format_columns_r",
    "format_pvalue",
]

CONDITIONAL_LINE = "(Inference Conditional on the Covariate Values Specified in `covariates')"
EFFECT_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")
FRAME_STYLES = ("tidy", "r", "statsmodels")
_NOTE_WIDTH = 80


@dataclass(frozen=True, eq=False)
class Summary(CopyOnRead):
    """Printable summary of any result, laid out like R's ``summary(mediate(...))``.

    The object holds raw numbers; formatting happens only in the ``as_*``
    methods. It is immutable: fields cannot be reassigned, and DataFrame
    attributes and :meth:`to_frame` return copies.

    Two shapes share the renderers. With `effects` (every fit, bootstrap and
    effect test): the title, the CI-method line, the effects table, the sample
    size, the footer, the `models` tables and the notes. With ``effects=None``
    (results that are not an effects table: sensitivity, balance, uplift,
    subgroups, ...): the title, the footer (``Sample Size Used`` only when
    `n_obs` > 0), the `models` tables (at least one) and the notes; there is no
    CI-method line, and `method` must be None.

    Parameters
    ----------
    effects : pandas.DataFrame or None, default None
        Index: a subset of :data:`EFFECT_KEYS` (rows are put in that order);
        columns ``estimate, std_error, ci_lower, ci_upper, p_value`` (floats).
        None: a summary of `models` tables only.
    method : str, optional
        Key of :data:`METHOD_LINES`: ``"quasi-bayesian"``, ``"percentile"``,
        ``"bca"`` or ``"bca_r"``. Required with `effects`; None without.
    short_form : bool, default False
        True prints R's four rows (``ACME, ADE, Total Effect, Prop. Mediated``
        showing ``acme_treated, ade_control, total, prop_mediated_control``),
        which R uses for a linear outcome without treatment x mediator
        interaction; False prints every row of `effects` with its long label.
    alpha : float, default 0.05
        The CI level is ``1 - alpha``; it appears in the column names
        (``95% CI Lower``, ``90% CI Lower``, ``97.5% CI Lower``).
    n_obs : int, default 0
        Sample size used.
    n_sims : int, default 0
        Number of simulations or bootstrap resamples.
    p_floor : float, optional
        Smallest resolvable p-value (``1 / n_sims``); smaller p-values print as
        ``"<0.001"`` (``"<"`` followed by the floor).
    conditional : bool, default False
        Print R's ``(Inference Conditional on the Covariate Values Specified in `covariates')`` line.
    footer : tuple of (str, str), default ()
        Extra lines after ``Simulations``, e.g. ``(("Seed", "2024"), ("Covariance", "HC3"))``.
    models : tuple of ModelTable or StatsTable, default ()
        Regression tables (:class:`ModelTable`) and other numeric tables
        (:class:`~mediationhte.report.stats_table.StatsTable`) printed after the footer.
    notes : tuple of str, default ()
        Free-text notes printed at the end.
    title : str, default "Causal Mediation Analysis"
    labels : tuple of (str, str), default ()
        Row keys and printed labels for tables of other estimands (``cate()``'s
        average effects, for example): then the rows of `effects` must be among
        these keys, are printed in this order with these labels, and
        `short_form` must be False. Empty (the default) means the mediation
        estimands of :data:`EFFECT_KEYS`.
    show_std_error : bool, default False
        Print a ``Std. Error`` column after the estimate (R's layout has none; estimators
        whose inference is a standard error, like ``dynamic_mediation()``'s, show it).

    Raises
    ------
    mediationhte.errors.ParameterError
        If `effects` has unknown rows or missing columns, `method` is unknown,
        `alpha` or `p_floor` is outside (0, 1), a count is negative, or
        `short_form` is True but one of the four short-form rows is missing;
        without `effects`: if `method` is given, `short_form` is True or
        `models` is empty.

    See Also
    --------
    format_columns_r : The common-decimals rule used for estimates and CIs.
    format_pvalue : How p-values are printed.

    Examples
    --------
    >>> import pandas as pd
    >>> eff = pd.DataFrame(
    ...     {"estimate": [-0.0137335, -0.0367886, -0.050522, 0.2718309],
    ...      "std_error": [0.009, 0.043, 0.044, 1.0],
    ...      "ci_lower": [-0.0333289, -0.1212614, -0.1349434, -1.4756572],
    ...      "ci_upper": [0.0020837, 0.0448608, 0.0307851, 2.5545245],
    ...      "p_value": [0.084, 0.35, 0.194, 0.254]},
    ...     index=["acme_treated", "ade_control", "total", "prop_mediated_control"])
    >>> s = Summary(eff, method="percentile", short_form=True, n_obs=899, n_sims=1000, p_floor=0.001)
    >>> print(s.as_text().splitlines()[5])
                     Estimate 95% CI Lower 95% CI Upper p-value
    >>> float(s.to_frame().loc["total", "estimate"])
    -0.050522

    A summary of other tables (no effects block):

    >>> from mediationhte.report.stats_table import StatsTable
    >>> smd = pd.DataFrame({"SMD raw": [0.61, 0.71]}, index=["age", "sex"])
    >>> b = Summary(title="Covariate balance", models=(StatsTable("SMD", smd),), footer=(("Threshold", "0.1"),))
    >>> print(b.as_text().splitlines()[1:4])
    ['Covariate balance', '', 'Threshold: 0.1']
    >>> b.to_frame().loc["sex", "SMD raw"]   # no effects: the first table
    np.float64(0.71)
    """

    effects: pd.DataFrame | None = None
    method: str | None = None
    short_form: bool = False
    alpha: float = 0.05
    n_obs: int = 0
    n_sims: int = 0
    p_floor: float | None = None
    conditional: bool = False
    footer: tuple[tuple[str, str], ...] = ()
    models: tuple[ModelTable, ...] = ()
    notes: tuple[str, ...] = ()
    title: str = "Causal Mediation Analysis"
    labels: tuple[tuple[str, str], ...] = ()
    show_std_error: bool = False

    def __post_init__(self):
        """Validate the fields and store copies in canonical form."""
        set_ = object.__setattr__
        if object.__getattribute__(self, "effects") is None:
            set_(self, "labels", label_pairs(self.labels, "labels"))
            self._check_tables_only()
        else:
            self._check_effects()
        if not 0.0 < float(self.alpha) < 1.0:
            raise ParameterError(f"Parameter alpha must be in (0, 1); got {self.alpha!r}.", parameter="alpha")
        set_(self, "alpha", float(self.alpha))
        for name in ("n_obs", "n_sims"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                msg = f"Parameter {name} must be a non-negative integer; got {value!r}."
                raise ParameterError(msg, parameter=name)
            set_(self, name, int(value))
        if self.p_floor is not None:
            if not 0.0 < float(self.p_floor) < 1.0:
                msg = f"Parameter p_floor must be in (0, 1) or None; got {self.p_floor!r}."
                raise ParameterError(msg, parameter="p_floor")
            set_(self, "p_floor", float(self.p_floor))
        set_(self, "conditional", bool(self.conditional))
        set_(self, "footer", label_pairs(self.footer, "footer"))
        models = tuple(self.models)
        bad = [type(m).__name__ for m in models if not isinstance(m, (ModelTable, StatsTable))]
        if bad:
            msg = f"Parameter models must hold ModelTable or StatsTable objects; got {', '.join(bad)}."
            raise ParameterError(msg, parameter="models")
        if not models and object.__getattribute__(self, "effects") is None:
            raise ParameterError("Parameter models must hold at least one table when effects is None (a Summary "
                                 "needs something to show).", parameter="models")
        set_(self, "models", models)
        set_(self, "notes", tuple(str(n) for n in self.notes))
        set_(self, "title", str(self.title))

    def _check_effects(self) -> None:
        """Validate and canonicalise `effects`, `labels`, `method` and `short_form` (the effects layout)."""
        set_ = object.__setattr__
        eff = numeric_frame(object.__getattribute__(self, "effects"), EFFECT_COLUMNS, "effects", "effects")
        set_(self, "labels", label_pairs(self.labels, "labels"))
        keys = tuple(k for k, _ in self.labels) or EFFECT_KEYS
        unknown = [str(k) for k in eff.index if k not in keys]
        if unknown:
            raise ParameterError(
                f"Parameter effects has unknown row(s) {', '.join(map(repr, unknown))}; "
                f"allowed rows are {', '.join(map(repr, keys))}.",
                parameter="effects",
            )
        if len(eff) == 0:
            raise ParameterError("Parameter effects has no rows.", parameter="effects")
        if self.labels and self.short_form:
            raise ParameterError("Parameter short_form must be False when labels are given (the short form is "
                                 "the mediation layout).", parameter="short_form")
        eff = eff.reindex([k for k in keys if k in eff.index])
        eff.index.name = "effect"
        set_(self, "effects", eff)
        if self.method not in METHOD_LINES:
            raise ParameterError(
                f"Parameter method must be one of {', '.join(map(repr, METHOD_LINES))}; got {self.method!r}.",
                parameter="method",
            )
        set_(self, "short_form", bool(self.short_form))
        if self.short_form:
            missing = [k for k in SHORT_FORM if k not in eff.index]
            if missing:
                raise ParameterError(
                    f"Parameter short_form is True but effects lacks row(s) {', '.join(map(repr, missing))}.",
                    parameter="short_form",
                )

    def _check_tables_only(self) -> None:
        """Without effects there is no CI method to name and no short form to print."""
        if self.method is not None:
            raise ParameterError(f"Parameter method names the effects' interval method and must be None when "
                                 f"effects is None; got {self.method!r}.", parameter="method")
        if self.short_form:
            raise ParameterError("Parameter short_form must be False when effects is None.", parameter="short_form")
        object.__setattr__(self, "short_form", False)

    # ------------------------------------------------------------------ helpers
    def _printed(self) -> pd.DataFrame:
        """Return the printed rows (short or long form), indexed by their R labels."""
        eff = object.__getattribute__(self, "effects")
        if self.short_form:
            out = eff.loc[list(SHORT_FORM)]
            out.index = pd.Index(list(SHORT_FORM.values()))
        else:
            out = eff.copy()
            names = dict(self.labels) or EFFECT_LABELS
            out.index = pd.Index([names[k] for k in eff.index])
        return out

    def _ci_headers(self) -> list[str]:
        level = format_level(self.alpha)
        return [f"{level}% CI Lower", f"{level}% CI Upper"]

    def _effect_cells(self) -> tuple[list[str], list[str], list[list[str]], bool]:
        """Return labels, headers and formatted rows of the effects table, and whether stars are shown."""
        tab = self._printed()
        columns = ["estimate", "std_error", "ci_lower", "ci_upper"] if self.show_std_error else \
            ["estimate", "ci_lower", "ci_upper"]
        k = len(columns)
        nums = format_columns_r(tab[columns].to_numpy(), digits=5)
        pvals = tab["p_value"].to_numpy()
        stars = bool(np.any(pvals < 0.1))
        headers = ["Estimate", *(["Std. Error"] if self.show_std_error else []), *self._ci_headers(), "p-value"]
        rows = []
        for i, p in enumerate(pvals):
            row = [*nums[k * i : k * i + k], format_pvalue(p, self.p_floor)]
            rows.append(row + [signif_stars(p)] if stars else row)
        if stars:
            headers.append("")
        return list(tab.index), headers, rows, stars

    @property
    def has_effects(self) -> bool:
        """Whether the summary has an effects table (False: it presents `models` tables only)."""
        return object.__getattribute__(self, "effects") is not None

    def _header_lines(self) -> list[str]:
        lines = [self.title, METHOD_LINES[self.method]] if self.has_effects else [self.title]
        return lines + [CONDITIONAL_LINE] if self.conditional else lines

    def _sims_line(self) -> str:
        return f"Simulations: {self.n_sims}"

    def _sims_lines(self) -> list[str]:
        """The simulations line, omitted when nothing was simulated (n_sims == 0, e.g. influence-function CIs)."""
        return [self._sims_line()] if self.n_sims else []

    def _footer_lines(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.footer]

    def _info_lines(self) -> list[str]:
        """Sample size, simulations and footer; without effects the sample size only when it is known (> 0)."""
        size = [f"Sample Size Used: {self.n_obs}"] if self.has_effects or self.n_obs else []
        return [*size, *self._sims_lines(), *self._footer_lines()]

    def _tables(self, alpha: float):
        """(title, headers, labels, rows, info) of every table in `models`, for the renderers."""
        for model in self.models:
            labels, rows = model._cells()
            yield model.title, model._headers(alpha), labels, rows, [f"{k}: {v}" for k, v in model.info]

    # ---------------------------------------------------------------- renderers
    def as_text(self) -> str:
        """Render as plain text in the layout of R's ``print.summary.mediate``.

        Returns
        -------
        str
            Right-stripped lines ending in a newline: title, method line,
            optional conditional line, the effects table (with significance
            stars and legend when any p < 0.1), sample size, simulations,
            footer lines, model tables and notes. Without effects: title,
            footer lines, tables and notes.
        """
        lines = [""]
        for line in self._header_lines():
            lines += [line, ""]
        if self.has_effects:
            labels, headers, rows, stars = self._effect_cells()
            columns = [list(c) for c in zip(*rows)]
            numeric = "r" * (len(headers) - (1 if stars else 0))
            lines += text_table(labels, headers, columns, numeric + "l" if stars else numeric)
            if stars:
                lines += ["---", SIGNIF_LEGEND]
            lines += ["", f"Sample Size Used: {self.n_obs}", *(["", self._sims_line()] if self.n_sims else []),
                      *self._footer_lines()]
        else:
            info = self._info_lines()
            lines = lines + info if info else lines[:-1]   # the tables below bring their own blank line
        for model in self.models:
            lines += ["", *model._text_lines(self.alpha)]
        if self.notes:
            lines += ["", "Notes:"]
            for i, note in enumerate(self.notes, start=1):
                lines += textwrap.wrap(
                    f"[{i}] {note}", _NOTE_WIDTH, subsequent_indent="    ", break_long_words=False,
                    break_on_hyphens=False,
                ) or [f"[{i}]"]
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def __str__(self) -> str:
        """Return :meth:`as_text`."""
        return self.as_text()

    def __repr__(self) -> str:
        """Return :meth:`as_text`, so the summary prints in full at the console."""
        return self.as_text()

    def as_latex(self, caption: str | None = None, label: str | None = None) -> str:
        r"""Render as a LaTeX ``table`` float with booktabs tabulars (needs ``\usepackage{booktabs}``).

        Parameters
        ----------
        caption : str, optional
            Text of ``\caption{}`` (escaped); omitted when None.
        label : str, optional
            Key of ``\label{}`` (used verbatim); omitted when None.

        Returns
        -------
        str
            The effects table (if any), then one tabular per model, with the
            title, method, footer, model information and notes as text lines.
            All labels and cells are escaped with :func:`escape_latex`.
        """
        out = latex_float_head(self._header_lines(), caption, label)
        if self.has_effects:
            labels, headers, rows, stars = self._effect_cells()
            align = "l" + "r" * (len(headers) - (1 if stars else 0)) + ("l" if stars else "")
            out += latex_tabular(["", *headers], [[lab, *r] for lab, r in zip(labels, rows)], align)
            tail = ["Signif. codes: 0 `***' 0.001 `**' 0.01 `*' 0.05 `.' 0.1 ` ' 1"] if stars else []
            tail += self._info_lines()
            out += [r"\par\smallskip", r"{\footnotesize " + latex_lines(tail) + r"\par}"]
        elif self._info_lines():
            out += [r"{\footnotesize " + latex_lines(self._info_lines()) + r"\par}"]
        for title, headers, labels, rows, info in self._tables(self.alpha):
            out += [r"\bigskip", latex_lines([title]) + r"\par", r"\smallskip"]
            out += latex_tabular(["", *headers], [[t, *r] for t, r in zip(labels, rows)], "l" + "r" * len(headers))
            if info:
                out += [r"\par\smallskip", r"{\footnotesize " + latex_lines(info) + r"\par}"]
        if self.notes:
            notes = ["Notes:", *(f"[{i}] {n}" for i, n in enumerate(self.notes, start=1))]
            out += [r"\bigskip", r"{\footnotesize " + latex_lines(notes) + r"\par}"]
        out.append(r"\end{table}")
        return "\n".join(out) + "\n"

    def as_html(self) -> str:
        """Render as HTML: text lines in ``<p>`` tags and tables from tabulate's ``"html"`` format (cells escaped).

        Returns
        -------
        str
            A ``<div class="mediationhte-summary">`` fragment.
        """

        def para(lines, strong=False):
            body = "<br>\n".join(html.escape(s, quote=False) for s in lines)
            return f"<p><strong>{body}</strong></p>" if strong else f"<p>{body}</p>"

        def table(headers, labels, rows, align):
            body = [[lab, *r] for lab, r in zip(labels, rows)]
            return str(tabulate(body, headers=["", *headers], tablefmt="html", disable_numparse=True, colalign=align))

        head = self._header_lines()
        out = ['<div class="mediationhte-summary">', para(head[:1], strong=True)]
        if self.has_effects:
            out.append(para(head[1:2]))
            if self.conditional:
                out.append(para(head[2:]))
            labels, headers, rows, stars = self._effect_cells()
            out.append(table(headers, labels, rows, ("left", *["right"] * 4, *(["left"] if stars else []))))
            if stars:
                out.append(para([SIGNIF_LEGEND]))
        elif head[1:]:
            out.append(para(head[1:]))
        if self._info_lines():
            out.append(para(self._info_lines()))
        for title, headers, labels, rows, info in self._tables(self.alpha):
            out.append(para([title], strong=True))
            out.append(table(headers, labels, rows, ("left", *["right"] * len(headers))))
            if info:
                out.append(para(info))
        if self.notes:
            out.append(para(["Notes:", *(f"[{i}] {n}" for i, n in enumerate(self.notes, start=1))]))
        out.append("</div>")
        return "\n".join(out) + "\n"

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_markdown(self) -> str:
        r"""Render as GitHub-flavoured markdown: the title as a heading and pipe tables (tabulate ``"pipe"``).

        Returns
        -------
        str
            Markdown text; characters markdown would interpret (``\ ` * _ | ~``) are escaped.
        """
        md = escape_markdown

        def table(headers, labels, rows, align):
            body = [[md(lab), *(md(c) for c in r)] for lab, r in zip(labels, rows)]
            head = ["", *map(md, headers)]
            return str(tabulate(body, headers=head, tablefmt="pipe", disable_numparse=True, colalign=align))

        head = self._header_lines()
        out = [f"## {md(head[0])}", "", *(x for line in head[1:] for x in (md(line), ""))]
        if self.has_effects:
            labels, headers, rows, stars = self._effect_cells()
            out += [table(headers, labels, rows, ("left", *["right"] * 4, *(["left"] if stars else []))), ""]
            if stars:
                out += [md(SIGNIF_LEGEND), ""]
        out += [f"- {md(s)}" for s in self._info_lines()]
        for title, headers, labels, rows, info in self._tables(self.alpha):
            out += ["", f"### {md(title)}", ""] if out[-1] else [f"### {md(title)}", ""]
            out.append(table(headers, labels, rows, ("left", *["right"] * len(headers))))
            if info:
                out += ["", *(f"- {md(line)}" for line in info)]
        if self.notes:
            out += ["", "**Notes**", "", *(f"{i}. {md(n)}" for i, n in enumerate(self.notes, start=1))]
        return "\n".join(line.rstrip() for line in out) + "\n"

    # ------------------------------------------------------------------- frames
    def to_frame(self, style: FrameStyle = "tidy", *, table: str | int | None = None) -> pd.DataFrame:
        """Return the effects (or another table) as a new DataFrame of raw floats.

        Parameters
        ----------
        style : {"tidy", "r", "statsmodels"}, default "tidy"
            * ``"tidy"``: every row of `effects`, whatever `short_form` says;
              index named ``effect`` (keys of :data:`EFFECT_KEYS`); columns
              ``estimate, std_error, ci_lower, ci_upper, p_value``.
            * ``"r"``: the printed rows (short or long form) with R's labels;
              columns ``Estimate``, ``95% CI Lower``, ``95% CI Upper``, ``p-value``.
            * ``"statsmodels"``: always the 10 rows of
              :data:`STATSMODELS_LABELS` (NaN where an effect is absent);
              columns ``Estimate``, ``Lower CI bound``, ``Upper CI bound``, ``P-value``
              (with `labels`: the rows of `effects` under their labels).

            Only ``"tidy"`` applies to the `models` tables.
        table : "effects", int or str, optional
            Which table: ``"effects"``, the position of a table in `models`, or
            its title. Default: the effects, or the first table of `models`
            when the summary has no effects (a ModelTable gives its
            coefficients, a StatsTable its table).

        Returns
        -------
        pandas.DataFrame
            A copy; changing it does not change the summary.

        Raises
        ------
        mediationhte.errors.ParameterError
            If `style` is not one of the three values above (or not "tidy" for
            a `models` table), or `table` names no table of this summary.
        """
        if table is None:
            table = "effects" if self.has_effects else 0
        if isinstance(table, str) and table == "effects":
            if not self.has_effects:
                raise ParameterError("Parameter table='effects': this summary has no effects table; pass the "
                                     "position or title of one of its tables.", parameter="table")
        elif style != "tidy":
            raise ParameterError(f"Parameter style must be 'tidy' for a table of models; got {style!r}.",
                                 parameter="style")
        else:
            return self._model_frame(table)
        eff = object.__getattribute__(self, "effects")
        if style == "tidy":
            return eff.copy()
        if style == "r":
            out = self._printed()[["estimate", "ci_lower", "ci_upper", "p_value"]]
            out.columns = pd.Index(["Estimate", *self._ci_headers(), "p-value"])
            return out.copy()
        if style == "statsmodels" and self.labels:
            out = self._printed()[["estimate", "ci_lower", "ci_upper", "p_value"]]
            out.columns = pd.Index(["Estimate", "Lower CI bound", "Upper CI bound", "P-value"])
            return out.copy()
        if style == "statsmodels":
            out = eff.reindex(list(EFFECT_KEYS))[["estimate", "ci_lower", "ci_upper", "p_value"]]
            out.index = pd.Index(list(STATSMODELS_LABELS.values()))
            out.columns = pd.Index(["Estimate", "Lower CI bound", "Upper CI bound", "P-value"])
            return out.copy()
        raise ParameterError(
            f"Parameter style must be one of {', '.join(map(repr, FRAME_STYLES))}; got {style!r}.", parameter="style"
        )

    def _model_frame(self, table) -> pd.DataFrame:
        """The numbers of one table of `models`, chosen by position or title."""
        titles = [m.title for m in self.models]
        if isinstance(table, numbers.Integral) and not isinstance(table, bool) and -len(titles) <= table < len(titles):
            model = self.models[int(table)]
        elif isinstance(table, str) and table in titles:
            model = self.models[titles.index(table)]
        else:
            raise ParameterError(f"Parameter table must be {repr('effects') + ', ' if self.has_effects else ''}"
                                 f"a position in 0..{len(titles) - 1} or one of the titles "
                                 f"{', '.join(map(repr, titles))}; got {table!r}.", parameter="table")
        return model.coefficients if isinstance(model, ModelTable) else model.table

    def models_frame(self) -> pd.DataFrame:
        """Stack all model coefficient tables in one new DataFrame.

        Returns
        -------
        pandas.DataFrame
            MultiIndex ``(model, term)`` where ``model`` is the model title;
            columns ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
            Empty (with those columns) when there are no models.
        """
        fitted = [m for m in self.models if isinstance(m, ModelTable)]
        if not fitted:
            index = pd.MultiIndex.from_arrays([[], []], names=["model", "term"])
            return pd.DataFrame({c: pd.Series(dtype=float) for c in COEF_COLUMNS}, index=index)
        frames = [m.coefficients for m in fitted]
        return pd.concat(frames, keys=[m.title for m in fitted], names=["model", "term"])
