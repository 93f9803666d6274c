"""Plots (optional extra ``plot``: matplotlib). Functions return the Axes and never call ``plt.show()``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mediationhte.errors import MediationHTEError

_ROWS = {
    "control": (("acme_control", "ACME"), ("ade_control", "ADE"), ("total", "Total\nEffect")),
    "treated": (("acme_treated", "ACME"), ("ade_treated", "ADE"), ("total", "Total\nEffect")),
    "average": (("acme_average", "ACME"), ("ade_average", "ADE"), ("total", "Total\nEffect")),
}


class MissingExtraError(MediationHTEError, ImportError):
    """An optional dependency is not installed."""


def pyplot():
    """matplotlib.pyplot, or an error saying how to install the optional extra ``plot``."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError("Plotting needs matplotlib: pip install 'mediationhte[plot]'.") from exc
    return plt


def plot_effects(table: pd.DataFrame, *, alpha: float, treatment: str = "both", ax=None):
    """Horizontal dot-and-whisker plot of ACME, ADE and total effect, as R's ``plot.mediate`` draws it.

    With ``treatment="both"`` the control-arm estimates are drawn as hollow
    circles with dashed whiskers just below the treated-arm ones (R's layout).
    """
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    arms = ("treated", "control") if treatment == "both" else (treatment,)
    positions = np.arange(3)[::-1].astype(float)
    for offset, arm in zip((0.0, -0.15), arms):
        keys = [k for k, _ in _ROWS[arm]]
        est = table.loc[keys, "estimate"].to_numpy()
        lo = table.loc[keys, "ci_lower"].to_numpy()
        hi = table.loc[keys, "ci_upper"].to_numpy()
        hollow = arm == "control" and treatment == "both"
        ax.hlines(positions + offset, lo, hi, colors="black", linestyles="dashed" if hollow else "solid")
        ax.plot(est, positions + offset, "o", color="black", markerfacecolor="white" if hollow else "black",
                label=arm if treatment == "both" else None)
    ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(positions)
    ax.set_yticklabels([label for _, label in _ROWS[arms[0]]])
    ax.set_xlabel(f"Estimate with {100 * (1 - alpha):g}% interval")
    if treatment == "both":
        ax.legend(frameon=False, loc="best")
    return ax


def plot_estimates(table: pd.DataFrame, *, labels, alpha: float, ax=None):
    """Dot-and-whisker plot of any estimates with intervals, one row each (first on top); returns the Axes."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.4 * len(table) + 1.5))
    positions = np.arange(len(table))[::-1].astype(float)
    lo, hi = table["ci_lower"].to_numpy(dtype=float), table["ci_upper"].to_numpy(dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.hlines(positions[ok], lo[ok], hi[ok], colors="black")
    ax.plot(table["estimate"].to_numpy(dtype=float), positions, "o", color="black")
    ax.axvline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yticks(positions)
    ax.set_yticklabels(list(labels))
    ax.set_xlabel(f"Estimate with {100 * (1 - alpha):g}% interval")
    return ax


def plot_variance_components(components: pd.DataFrame, ax=None):
    """Stacked horizontal bars of between-cluster (sigma_b^2) and within-cluster (sigma^2) variance, ICC annotated.

    One bar per row of ``components`` (a learner, an arm, the reference LMM), first on top.
    """
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 * len(components) + 1.4), layout="constrained")
    positions = np.arange(len(components))[::-1].astype(float)
    between = components["sigma_b2"].to_numpy(dtype=float)
    within = components["sigma2"].to_numpy(dtype=float)
    ax.barh(positions, between, color="#4c72b0", label="between clusters (sigma_b^2)")
    ax.barh(positions, within, left=between, color="#c5d3e8", label="within clusters (sigma^2)")
    for y, b, w, icc in zip(positions, between, within, components["icc"].to_numpy(dtype=float)):
        ax.text(b + w, y, f"  ICC {icc:.2f}", va="center", fontsize=9)
    ax.set_yticks(positions)
    ax.set_yticklabels([str(label) for label in components.index])
    ax.set_xlabel("residual variance of the outcome")
    ax.set_xlim(0, 1.3 * float(np.max(between + within)))
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=8)
    return ax
