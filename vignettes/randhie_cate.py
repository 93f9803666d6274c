"""
Heterogeneous effects of generous insurance on doctor visits: ``cate()`` on the RAND HIE
========================================================================================

The RAND Health Insurance Experiment randomised families to insurance plans with different
coinsurance rates. statsmodels ships a 20,190-row extract; the teaching definition used here
calls a person "treated" (``T = 1``) when the log coinsurance rate ``lncoins`` is below its mean
(more generous insurance) and takes the number of outpatient doctor visits ``mdvis`` as the
outcome ``Y``. This split pools plans and is not itself randomised, so the covariates predict
it strongly: the diagnostics below matter.

The workflow is the one a careful analyst runs before trusting a heterogeneous estimate:
propensity and overlap, weighting and balance, several estimators of the average effect,
S/T/X/DR meta-learners side by side, buckets, uplift, refutations, and calibrated subgroups.
It runs top to bottom as a plain script (``python vignettes/randhie_cate.py``, about two
minutes on two cores) and writes no files; its figures are drawn with matplotlib.
"""

# %%
import pandas as pd

import mediationhte as mh

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)

data = mh.load_randhie()
print(data.shape, "treated share", round(data["T"].mean(), 4))
FORMULA = "Y ~ T + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp"

# %%
# One call: average effects by several estimators, unit effects by four learners
# ------------------------------------------------------------------------------
#
# The default base learner is gradient boosting (HistGradientBoosting); the propensity score is
# a standardised logistic regression fitted in sample (cross-fitted for AIPW and the
# DR-learner); IPTW clips the scores to [0.01, 0.99].

# %%
fit = mh.cate(FORMULA, data, learner=["s", "t", "x", "dr"], random_state=42)
print(fit.summary())

# %%
# Propensity and overlap
# ----------------------
#
# An AUC near 0.9 says the covariates separate the arms well: strong confounding, and units
# with scores near 0 or 1 get large weights. The quantiles by arm show where overlap is thin.

# %%
ps = fit.propensity()
print(ps)

# %%
# Balance after weighting and matching
# ------------------------------------
#
# Standardised mean differences (SMD) before and after IPTW and nearest-neighbour matching on the
# logit score; an absolute SMD of 0.1 or more is flagged.

# %%
bal = fit.balance()
print(bal)
print("still imbalanced after IPTW:", bal.imbalanced("weighted"))

# %%
# The learners side by side
# -------------------------
#
# The S-learner shrinks the effect towards a constant when the treatment signal is weak
# relative to the covariates; the T-learner is noisier; the X-learner leans on the larger arm;
# the DR-learner is the most robust when overlap is acceptable. Showing them together is the
# point: they rarely agree unit by unit.

# %%
print(fit.effects.describe().round(3))
print(fit.effects.corr().round(2))

# %%
# Buckets
# -------
#
# The statsmodels extract has no income column; we bucket by the log participation incentive
# ``lpi`` and by the number of chronic diseases ``disea``. A monotone pattern suggests real
# heterogeneity, a zig-zag noise.

# %%
print(fit.by("lpi", bins=5).round(3))
print(fit.by("disea", bins=5).round(3))

# %%
# Uplift: who should be targeted?
# -------------------------------
#
# Rank the units by each learner's tau-hat, take the top 10/20/30%, and compare treated and
# control means inside the slice (a directional check: the same data rank and evaluate). The
# Qini coefficient summarises the whole ranking.

# %%
up = fit.uplift()
print(up)

# %%
# Refutations
# -----------
#
# A placebo treatment (permuted ``T``) should give estimates near 0; an added random covariate
# should leave them almost unchanged.

# %%
ref = fit.refute(n_simulations=2, random_state=1, n_jobs=2)
print(ref)

# %%
# Subgroups of the DR-learner's effects
# -------------------------------------
#
# The M-learner's steps 2-4 without a mediator: t-SNE embedding of tau-hat, K-means, CART
# profiles on the covariates, p_leaf from the F-test of leaf x treatment on the outcome, and an
# honest test by sample splitting (the profile is found on one half, tested on the other).

# %%
sub = fit.subgroups(effect="dr", k=[2, 3, 4], calibration="split", random_state=3)
print(sub)

# %%
# Propensity overlap: the distribution of e(x) in each arm.

# %%
ax = ps.plot()

# %%
# The love plot: standardised mean differences before and after weighting and matching.

# %%
ax = bal.plot()

# %%
# The Qini curve of the DR-learner's ranking.

# %%
ax = up.plot()
