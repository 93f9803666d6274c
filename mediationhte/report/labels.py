"""Every human label of the estimands and interval methods, in one place (numbers never live here).

Re-exported by :mod:`mediationhte.report.summary`, whose renderers use them.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["EFFECT_KEYS", "EFFECT_LABELS", "METHOD_LINES", "SHORT_FORM", "STATSMODELS_LABELS", "flag_unstable_ratio"]

#: Estimand keys, in R's print order.
EFFECT_KEYS = (
    "acme_control",
    "acme_treated",
    "ade_control",
    "ade_treated",
    "total",
    "prop_mediated_control",
    "prop_mediated_treated",
    "acme_average",
    "ade_average",
    "prop_mediated_average",
)

#: R ``mediation`` row labels of the long (10-row) form.
EFFECT_LABELS = {
    "acme_control": "ACME (control)",
    "acme_treated": "ACME (treated)",
    "ade_control": "ADE (control)",
    "ade_treated": "ADE (treated)",
    "total": "Total Effect",
    "prop_mediated_control": "Prop. Mediated (control)",
    "prop_mediated_treated": "Prop. Mediated (treated)",
    "acme_average": "ACME (average)",
    "ade_average": "ADE (average)",
    "prop_mediated_average": "Prop. Mediated (average)",
    "subgroup_effect": "Effect searched (held-out)",
}

#: Rows and labels of R's short (4-row) form: linear outcome, no treatment x mediator interaction.
SHORT_FORM = {
    "acme_treated": "ACME",
    "ade_control": "ADE",
    "total": "Total Effect",
    "prop_mediated_control": "Prop. Mediated",
}

#: Row labels of statsmodels' ``MediationResults.summary()``.
STATSMODELS_LABELS = {
    "acme_control": "ACME (control)",
    "acme_treated": "ACME (treated)",
    "ade_control": "ADE (control)",
    "ade_treated": "ADE (treated)",
    "total": "Total effect",
    "prop_mediated_control": "Prop. mediated (control)",
    "prop_mediated_treated": "Prop. mediated (treated)",
    "acme_average": "ACME (average)",
    "ade_average": "ADE (average)",
    "prop_mediated_average": "Prop. mediated (average)",
}

#: The confidence-interval method line printed under the title.
METHOD_LINES = {
    "quasi-bayesian": "Quasi-Bayesian Confidence Intervals",
    "percentile": "Nonparametric Bootstrap Confidence Intervals with the Percentile Method",
    "bca": "Nonparametric Bootstrap Confidence Intervals with the BCa Method",
    "bca_r": "Nonparametric Bootstrap Confidence Intervals with the BCa Method (R-compatible)",
    "eif": "Efficient Influence Function Confidence Intervals (Cross-Fitted Nuisances)",
    "plugin": "Plug-in Estimates (In-Sample Nuisances; Standard Errors Need bootstrap_ci)",
    "ate": "Average Treatment Effect by Several Estimators (Normal-Theory Intervals)",
    "crt": "Average Treatment Effect in a Cluster-Randomised Trial (t Intervals, G - 1 df; See Notes)",
    "ate_bootstrap": "Average Treatment Effect: Nonparametric Bootstrap Confidence Intervals (Percentile Method)",
}



def flag_unstable_ratio(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``ratio_unstable`` to a tidy mediation table: True on the proportion rows when the total's CI covers 0.

    The proportion mediated divides by the total effect; when its interval covers
    0 the denominator may be 0, so the ratio and its interval are unstable. Tables
    without a ``total`` row come back unchanged.
    """
    if "total" not in frame.index:
        return frame
    covers = bool(frame.loc["total", "ci_lower"] <= 0 <= frame.loc["total", "ci_upper"])
    return frame.assign(ratio_unstable=frame.index.str.startswith("prop_mediated") & covers)
