"""
Who gains most from nurse-led hypertension care? CATE in a cluster-randomised trial
===================================================================================

A simulated trial with the shape of the Ghana task-shifting trial (TASSH, Ogedegbe et al.
2018): 32 clinics randomised 16:16, about 750 patients, outcome the 12-month change in
systolic blood pressure (mmHg; negative is better). The data are *simulated* (the real data
are not bundled): ``simulate_crt("B")`` of the spec, rescaled to mmHg, with a patient-level
modifier (age), a patient-level binary one (female) and a clinic-level one (nurses per
clinic), so the true CATE of every patient is known.

Randomisation is by clinic, so a clinic's random intercept is aliased with its arm. The
``(1 | clinic)`` term tells ``cate()`` so: the CATE is the fixed part of the model (random
intercept at 0), inference is cluster-robust, and the machine-learning learners start from
a REML mixed model so the random intercept cannot swallow the treatment effect.

It runs top to bottom (``python vignettes/crt_cate.py``, under a minute on two cores) and
writes no files; its figures are drawn with matplotlib.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import mediationhte as mh

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)

raw = mh.simulate_crt("B", n_clusters=32, cluster_size=(18, 29), random_state=2018)
trial = pd.DataFrame({
    "clinic": raw["cluster"], "tassh": raw["treat"],
    "age": 55 + 10 * raw["x1"], "female": raw["x2"], "bmi": 28 + 4 * raw["x3"],
    "smoker": (raw["x4"] > 1).astype(int), "income": raw["x5"],
    "nurses": 4 + raw["v1"], "rural": raw["v2"],
    "sbp_change": -8 * raw["y"],
})
true_cate = -8 * raw["tau"]  # mmHg; the truth, known because the data are simulated
print(trial.shape, "clinics:", trial.clinic.nunique(), "treated clinics:", trial.groupby("clinic").tassh.first().sum())

FORMULA = "sbp_change ~ tassh * (age + female + bmi + nurses + rural) + smoker + income + (1 | clinic)"

# %%
# The default learner: a mixed model with REML-shrunk interactions
# ----------------------------------------------------------------
#
# ``tassh * (...)`` names the candidate effect modifiers; ``smoker`` and ``income`` are prognostic
# only. The default learner treats the treatment x modifier coefficients as random with one
# variance chosen by REML, so the CATE varies only as much as the data support.

# %%
fit = mh.cate(FORMULA, trial, random_state=1)
print(fit.summary())
print("cluster-level covariates detected:", fit.cluster_level)

# %%
# Side by side: plain LMM, MERF (warm-started), and a forest that ignores the clinics
# -----------------------------------------------------------------------------------

# %%
fits = {"lmm_shrink": fit,
        "lmm": mh.cate(FORMULA, trial, learner="lmm"),
        "merf": mh.cate(FORMULA, trial, learner="merf", random_state=1),
        "rf (ignores clinics)": mh.cate(FORMULA, trial, learner="rf", random_state=1)}
rows = []
for name, f in fits.items():
    tau = f.effects["cate"]
    ate = f.ate().iloc[0]
    rows.append({"learner": name, "RMSE vs true CATE": float(np.sqrt(np.mean((tau - true_cate) ** 2))),
                 "SD of CATE": float(tau.std()), "mean CATE": float(tau.mean()), "ATE SE": ate["std_error"]})
print(pd.DataFrame(rows).round(3).to_string(index=False))
print("true mean CATE", round(true_cate.mean(), 3), "true SD", round(true_cate.std(), 3))

# %%
# Variance components and the heterogeneity test
# ----------------------------------------------
#
# The learners' clinic variance next to the plain REML LMM's (a warning would say if a learner's
# random intercept had absorbed clinic-level signal), then the best linear projection of the
# CATE on the modifiers with CR2 cluster-robust standard errors.

# %%
print(fits["merf"].variance_components().round(3))
blp = fit.blp()
print(blp.round(3))
print("joint test of heterogeneity, p =", round(blp.attrs["wald_p_value"], 4))

# %%
# Average effect with individual or clinic weights
# ------------------------------------------------

# %%
print(fit.ate("individual").round(3))
print(fit.ate("cluster").round(3))

# %%
# CATE by modifier
# ----------------

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, column in zip(axes, ("age", "nurses")):
    for name in ("lmm_shrink", "rf (ignores clinics)"):
        ax.scatter(trial[column], fits[name].effects["cate"], s=4, alpha=0.4, label=name)
    ax.scatter(trial[column], true_cate, s=4, alpha=0.4, color="black", label="truth")
    ax.set_xlabel(column)
axes[0].set_ylabel("CATE on SBP change (mmHg)")
axes[0].legend(frameon=False, markerscale=3)
fig.tight_layout()

# %%
# Variance components
# -------------------
#
# How much of the outcome's residual variance lies between clinics (sigma_b^2) and how much
# within (sigma^2), per learner; the intraclass correlation is their ratio.

# %%
ax = fits["lmm_shrink"].plot_variance_components()
