"""Low-level number and string formatting shared by the summary renderers.

Everything here is pure and deterministic: no dates, no locale, no global
options. The public helpers (:func:`format_columns_r`, :func:`format_pvalue`,
:func:`escape_latex`) are re-exported by :mod:`mediationhte.report.summary`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["escape_latex", "format_columns_r", "format_pvalue"]

#: Upper limit on the number of decimals :func:`format_columns_r` will use.
MAX_DECIMALS = 10

#: R's significance legend, as printed by ``printCoefmat`` in a UTF-8 locale.
SIGNIF_LEGEND = (
    "Signif. codes:  0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 \u2018.\u2019 0.1 \u2018 \u2019 1"
)

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_MARKDOWN_RE = re.compile(r"([\\`*_|~])")


def _needed_decimals(x: float, digits: int) -> int:
    """Return the decimals R's ``format(x, digits=digits)`` needs for one finite number."""
    if x == 0.0:
        return 0
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    significant = mantissa.replace(".", "").rstrip("0")
    return max(0, max(1, len(significant)) - int(exponent) - 1)


def format_columns_r(values, digits: int = 5) -> list[str]:
    """Format numbers with one common number of decimals, as R's ``format(x, digits=)`` does.

    R chooses, for every finite non-zero value, the fewest significant digits
    (at most `digits`) that show it to `digits` significant digits, turns that
    into a number of decimals, and prints *all* values with the largest of those
    decimals. For example the smallest value 0.0020837 needs 7 decimals at
    ``digits=5``, so -0.0137335 and 2.5545245 are printed with 7 decimals too.
    Unlike R, fixed notation is always used; decimals are capped at 10.

    Parameters
    ----------
    values : array_like of float
        Any shape; the values are formatted together.
    digits : int, default 5
        Minimum number of significant digits shown for each value.

    Returns
    -------
    list of str
        One string per value of ``numpy.ravel(values)`` (row-major order), not
        padded to a common width. NaN gives ``"NA"``, infinities ``"Inf"`` and
        ``"-Inf"``.

    Examples
    --------
    >>> format_columns_r([-0.0137335, 0.0020837, 2.5545245])
    ['-0.0137335', '0.0020837', '2.5545245']
    >>> format_columns_r([0.5, 12.0, float("nan")])
    ['0.5', '12.0', 'NA']
    """
    if digits < 1:
        raise ValueError(f"digits must be at least 1; got {digits}.")
    arr = np.ravel(np.asarray(values, dtype=float))
    finite = arr[np.isfinite(arr)]
    decimals = max((_needed_decimals(float(v), digits) for v in finite), default=0)
    decimals = min(decimals, MAX_DECIMALS)
    out = []
    for v in arr:
        if math.isnan(v):
            out.append("NA")
        elif math.isinf(v):
            out.append("Inf" if v > 0 else "-Inf")
        else:
            out.append(f"{(v if v != 0 else 0.0):.{decimals}f}")
    return out


def _format_floor(p_floor: float) -> str:
    return np.format_float_positional(p_floor, precision=3, unique=True, fractional=False, trim="-")


def format_pvalue(p: float, p_floor: float | None = None) -> str:
    """Format a p-value for text tables.

    Parameters
    ----------
    p : float
        The p-value. NaN prints as ``"NA"``.
    p_floor : float, optional
        The smallest resolvable p-value, for example ``1 / n_sims`` for a
        simulation-based p-value. Values below it print as ``"<"`` followed by
        the floor (``"<0.001"`` for 1000 simulations), never as R's ``<2e-16``.

    Returns
    -------
    str
        Three decimals (``"0.084"``, ``"1.000"``) when ``p >= 0.001``. Below
        0.001: ``"<" + p_floor`` when ``p < p_floor``; two significant digits
        when a floor below 0.001 resolves `p` (``"0.00042"``); ``"<0.001"``
        when no floor is given.

    Examples
    --------
    >>> format_pvalue(0.084)
    '0.084'
    >>> format_pvalue(0.0, p_floor=0.001)
    '<0.001'
    >>> format_pvalue(0.0004, p_floor=0.0001)
    '0.0004'
    """
    p = float(p)
    if math.isnan(p):
        return "NA"
    if p_floor is not None and p < p_floor:
        return "<" + _format_floor(p_floor)
    if p >= 0.001:
        return f"{p:.3f}"
    if p_floor is None:
        return "<0.001"
    return np.format_float_positional(p, precision=2, unique=False, fractional=False, trim="-")


def signif_stars(p: float) -> str:
    """Significance symbol of one p-value, with R's ``symnum`` cut points.

    R's intervals are closed on the right: ``[0, 0.001]`` gives ``***``,
    ``(0.001, 0.01]`` ``**``, ``(0.01, 0.05]`` ``*``, ``(0.05, 0.1]`` ``.``, and
    anything larger (or NaN) a blank.
    """
    if math.isnan(p):
        return ""
    for cut, symbol in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return symbol
    return " "


def format_level(alpha: float) -> str:
    """Format the confidence level in percent as R's ``paste(100 * conf.level)`` prints it: 95, 90, 97.5."""
    return f"{100.0 * (1.0 - alpha):.15g}"


def format_quantile(q: float) -> str:
    """Format a probability such as 0.025 without float noise (``"0.025"``, ``"0.95"``)."""
    return f"{q:.12g}"


def escape_latex(s: str) -> str:
    r"""Escape the characters LaTeX treats specially in text mode.

    Handles ``\ & % $ # _ { } ~ ^`` and also ``< > |``, which print as other
    glyphs in LaTeX's default font encoding. Quotes and backticks are kept so
    that ```covariates'`` typesets as a quoted word.

    Parameters
    ----------
    s : str
        Plain text.

    Returns
    -------
    str

    Examples
    --------
    >>> print(escape_latex("job_seek: 50% & more"))
    job\_seek: 50\% \& more
    """
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(s))


def escape_markdown(s: str) -> str:
    r"""Backslash-escape characters that GitHub markdown would interpret (``\ ` * _ | ~``)."""
    return _MARKDOWN_RE.sub(r"\\\1", str(s))


def text_table(
    row_labels: Sequence[str],
    headers: Sequence[str],
    columns: Sequence[Sequence[str]],
    align: Sequence[str],
) -> list[str]:
    """Lay out a character table the way R's ``print.default(right=TRUE)`` does.

    Row labels are left-aligned under a blank header; every other column is
    separated by one space and padded to the wider of its header and entries,
    right-aligned (``"r"``) or left-aligned (``"l"``). Lines are right-stripped.
    """
    label_width = max((len(s) for s in row_labels), default=0)
    widths = [max([len(h)] + [len(c) for c in col]) for h, col in zip(headers, columns)]

    def pad(s: str, width: int, how: str) -> str:
        return s.rjust(width) if how == "r" else s.ljust(width)

    lines = [" " * label_width + "".join(" " + pad(h, w, "r") for h, w in zip(headers, widths))]
    for i, label in enumerate(row_labels):
        cells = "".join(" " + pad(col[i], w, a) for col, w, a in zip(columns, widths, align))
        lines.append(label.ljust(label_width) + cells)
    return [line.rstrip() for line in lines]


def latex_tabular(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    r"""Build a booktabs ``tabular`` from already formatted, *unescaped* cells.

    Every cell is escaped with :func:`escape_latex`. A row whose first cell
    starts with ``[`` or ``*`` is protected by ``{}`` so that it cannot be read
    as an optional argument of the preceding ``\\`` or rule.

    Why not tabulate's ``"latex_booktabs"`` (as text and HTML use tabulate):
    checked with tabulate 0.10, it (1) leaves ``|`` unescaped, so the header
    ``Pr(>|t|)`` typesets ``|`` as an em dash in LaTeX's default OT1 encoding,
    and writes ``<``/``>`` as ``\ensuremath{<}`` where the text cells here use
    ``\textless{}``; (2) cannot protect a row whose first cell starts with ``[``
    (a row label ``[1] ...`` after ``\\`` is read as ``\\[<length>]``, a LaTeX
    error), and pre-escaped cells cannot be passed because it escapes again;
    (3) pads cells with spaces, so the golden ``.tex`` files would change. This
    writer is a dozen lines and escapes exactly as :func:`escape_latex`.
    """

    def row(cells: Sequence[str]) -> str:
        return latex_lines([" & ".join(escape_latex(c) for c in cells)], escape=False) + r" \\"

    return (
        [rf"\begin{{tabular}}{{{align}}}", r"\toprule", row(headers), r"\midrule"]
        + [row(r) for r in rows]
        + [r"\bottomrule", r"\end{tabular}"]
    )


def latex_lines(lines: Sequence[str], escape: bool = True) -> str:
    r"""Escape text lines and join them with ``\\``, protecting lines that start with ``[`` or ``*``."""
    out = []
    for line in lines:
        s = escape_latex(line) if escape else line
        out.append("{}" + s if s[:1] in ("[", "*") else s)
    return " \\\\\n".join(out)


def latex_float_head(header_lines: Sequence[str], caption: str | None = None, label: str | None = None) -> list[str]:
    r"""Opening lines of a ``table`` float: ``\begin{table}``, optional caption and label, escaped header text."""
    out = [r"\begin{table}[htbp]", r"\centering"]
    if caption is not None:
        out.append(rf"\caption{{{escape_latex(caption)}}}")
    if label is not None:
        out.append(rf"\label{{{label}}}")
    return out + [latex_lines(header_lines) + r"\par", r"\medskip"]
