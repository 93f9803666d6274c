"""
Causal mediation analysis of the JOBS II experiment
===================================================

This vignette redoes, with ``mediationhte``, the worked example of R's ``mediation`` package
(Tingley, Yamamoto, Hirose, Keele and Imai 2014, *Journal of Statistical Software* 59(5), §3;
the package vignette). The question: the JOBS II job-skills workshop lowered depression a
little. How much of that went *through* job-search self-efficacy (``job_seek``)?

* treatment ``treat``: invited to the workshops (1) or sent a booklet (0), randomised;
* mediator ``job_seek``: job-search self-efficacy (1 to 5), measured after treatment;
* outcome ``depress2``: depressive symptoms at follow-up;
* pre-treatment covariates: ``depress1``, ``econ_hard``, ``sex``, ``age``, ``occp``, ``marital``,
  ``nonwhite``, ``educ``, ``income``.

It runs top to bottom as a plain script (``python vignettes/jobs_mediation.py``) and writes
no files; its figures are drawn with matplotlib.
"""

# %%
import pandas as pd

from mediationhte import load_jobs, mediate

pd.set_option("display.width", 120)

# %%
# The data
# --------
#
# ``load_jobs()`` returns R's ``data(jobs)``: 899 complete cases, 17 columns, with R's factor
# levels and reference categories (see ``data/README.md``). It is shipped for illustration only.

# %%
jobs = load_jobs()
print(jobs.shape)
print(jobs["treat"].value_counts().rename("n").to_frame().T)
print(jobs[["treat", "econ_hard", "depress1", "sex", "age", "job_seek", "depress2"]].describe().round(3))
print(jobs.groupby("treat")[["job_seek", "depress2"]].mean().round(4))

# %%
# The canonical specification
# ---------------------------
#
# Both models adjust for the same pre-treatment covariates. The mediator model regresses
# ``job_seek`` on treatment and covariates; the outcome model adds the mediator.

# %%
COVARIATES = "depress1 + econ_hard + sex + age + occp + marital + nonwhite + educ + income"
OUTCOME = f"depress2 ~ treat + job_seek + {COVARIATES}"
MEDIATOR = f"job_seek ~ treat + {COVARIATES}"

fit = mediate(OUTCOME, MEDIATOR, jobs, sims=1000, random_state=2014)
print(fit)

# %%
# R: `med.fit <- lm(MEDIATOR, data = jobs); out.fit <- lm(OUTCOME, data = jobs);
# summary(mediate(med.fit, out.fit, treat = "treat", mediator = "job_seek", sims = 1000))`.
# Our summary has the same layout (title, interval method, the four rows for a linear outcome
# without interaction, sample size, simulations), then a footer with the seed and settings and
# both regression tables.

# %%
summary = fit.summary()
print(summary)

# %%
# Deterministic values next to R's
# --------------------------------
#
# The point estimates are the values at the fitted coefficients, so they do not depend on the
# seed. For linear models without interaction ACME = a·b, where a is the effect of ``treat`` on
# ``job_seek`` and b the effect of ``job_seek`` on ``depress2``. The reference values below come from
# R (mediation 4.5.1, ``lm``); statsmodels gives the same to 8 decimals.

# %%
R_REFERENCE = {
    "a (treat -> job_seek)": 0.07742381,
    "b (job_seek -> depress2)": -0.17738024,
    "ACME": -0.01373345,
    "ADE": -0.03678859,
    "Total Effect": -0.05052204,
    "Prop. Mediated": 0.27183094,
}
est = fit.estimates
a_table = fit.mediator_model.coefficient_table()  # one row per design column
b_table = fit.outcome_model.coefficient_table()
ours = {
    "a (treat -> job_seek)": a_table.loc["treat", "estimate"],
    "b (job_seek -> depress2)": b_table.loc["job_seek", "estimate"],
    "ACME": est["acme_average"],
    "ADE": est["ade_average"],
    "Total Effect": est["total"],
    "Prop. Mediated": est["prop_mediated_average"],
}
comparison = pd.DataFrame({"mediationhte": ours, "R mediation": R_REFERENCE})
comparison["difference"] = comparison["mediationhte"] - comparison["R mediation"]
print(comparison.to_string(float_format=lambda v: f"{v:.8f}"))
assert (comparison["difference"].abs() < 5e-9).all()

# %%
# R's quasi-Bayesian point estimates are the *mean of the draws* (median for the proportion),
# so they move with the seed. ``point="mean_of_draws"`` reproduces that convention; the intervals
# are the same either way.

# %%
fit_r_style = mediate(OUTCOME, MEDIATOR, jobs, sims=1000, random_state=2014, point="mean_of_draws")
print(pd.DataFrame({"original sample": fit.estimates, "mean of draws": fit_r_style.estimates}).round(6))

# %%
# Bootstrap intervals
# -------------------
#
# R: ``mediate(..., boot = TRUE, boot.ci.type = "perc" | "bca")``. ``bootstrap_ci`` refits both
# models on every case resample and returns a new results object (the fit is unchanged). The
# point estimates stay the original-sample ones, as in R ≥ 4.5. ``method="bca"`` is textbook BCa
# (jackknife acceleration); ``method="bca_r"`` reproduces R's variant.

# %%
boot = fit.bootstrap_ci(n_boot=1000, method="percentile", random_state=2014)
print(boot.summary())

# %%
boot_bca = fit.bootstrap_ci(n_boot=1000, method="bca", random_state=2014)
print(boot_bca.to_frame().round(6))

# %%
# The smaller man-page specification
# ----------------------------------
#
# The example on R's ``?mediate`` help page uses fewer covariates. R's deterministic values:
# a = 0.065615, b = −0.239955, ACME = −0.015745, ADE = −0.040265.

# %%
small = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
                "job_seek ~ treat + econ_hard + sex + age", jobs, sims=1000, random_state=2014)
small_a = small.mediator_model.coefficient_table().loc["treat", "estimate"]
small_b = small.outcome_model.coefficient_table().loc["job_seek", "estimate"]
print(f"a = {small_a:.6f}, b = {small_b:.6f}")
print(small.estimates[["acme_average", "ade_average", "total", "prop_mediated_average"]].round(6))
assert round(small.estimates["acme_average"], 6) == -0.015745 and round(small.estimates["ade_average"], 6) == -0.040265
print(small.summary().to_frame(style="r"))

# %%
# Treatment × mediator interaction
# --------------------------------
#
# If the workshop changes how self-efficacy relates to depression, the ACME differs between the
# treated and control conditions. With ``treat * job_seek`` in the outcome formula the
# interaction is detected and the summary switches to R's long form: ten rows with the
# control, treated and average versions of each effect.

# %%
fit_int = mediate(f"depress2 ~ treat * job_seek + {COVARIATES}", MEDIATOR, jobs, sims=1000, random_state=2014)
print(fit_int.summary())

# %%
# The difference ACME(treated) − ACME(control) from the stored draws (what R's ``test.TMint``
# tests):

# %%
draws = fit_int.draws
diff = draws["acme_treated"] - draws["acme_control"]
print(f"ACME(1) - ACME(0) = {fit_int.estimates['acme_treated'] - fit_int.estimates['acme_control']:.6f}, "
      f"95% interval [{diff.quantile(0.025):.6f}, {diff.quantile(0.975):.6f}]")
print(fit_int.test_interaction())   # the same, printed as R's test.TMint

# %%
# Moderated mediation
# -------------------
#
# JSS §3.2: let the treatment and mediator effects depend on a pre-treatment covariate, then
# compute the effects conditional on its value with ``covariates=`` (R's
# ``mediate(..., covariates = list(sex = 1))``). Here the moderator is ``sex`` (1 = female). The
# summary says that inference is conditional on the covariate values.

# %%
COVS_NO_SEX = "depress1 + econ_hard + age + occp + marital + nonwhite + educ + income"
MOD_OUTCOME = f"depress2 ~ treat * sex + job_seek * sex + {COVS_NO_SEX}"
MOD_MEDIATOR = f"job_seek ~ treat * sex + {COVS_NO_SEX}"
by_sex = {}
for value, label in ((1, "female (sex = 1)"), (0, "male (sex = 0)")):
    fit_sex = mediate(MOD_OUTCOME, MOD_MEDIATOR, jobs, covariates={"sex": value}, sims=1000, random_state=2014)
    by_sex[label] = fit_sex.to_frame().loc["acme_average", ["estimate", "ci_lower", "ci_upper", "p_value"]]
print(fit_sex.summary())
print(pd.DataFrame(by_sex).T.round(6))

# %%
# R's ``test.modmed`` refits the models twice; ``test_moderation()`` evaluates the same coefficient
# draws under both profiles. ``by()`` gives the effects per level in one table, with an omnibus
# test and Holm-adjusted contrasts (here averaged over the women and the men of the sample
# rather than setting everyone's sex).

# %%
fit_mod = mediate(MOD_OUTCOME, MOD_MEDIATOR, jobs, sims=1000, random_state=2014)
print(fit_mod.test_moderation({"sex": 1}, {"sex": 0}).to_frame().round(6))
by_level = fit_mod.by("sex")
print(by_level.table.round(5))
print(by_level.omnibus.round(4))

# %%
# How fragile is the ACME? Sensitivity to sequential ignorability
# ---------------------------------------------------------------
#
# R's ``medsens``: an unmeasured confounder of job-search self-efficacy and depression would
# correlate the two models' errors (rho). R reports the grid point nearest the zero crossing
# (-0.2); the exact value is -0.21, so a confounder explaining 4.4% of each model's residual
# variance (R²*_M R²*_Y = rho²) would explain the ACME away.

# %%
sens = fit.sensitivity()
print(sens.summary())
print("exact rho at which the ACME is 0:", round(sens.rho_at_zero(), 6))

# %%
# R's ``plot(sens.out, sens.par = "rho")``: the ACME and its interval as the error correlation
# rho moves away from 0 (sequential ignorability), with the exact crossing marked.

# %%
ax = sens.plot(sens_par="rho")

# %%
# The same in terms of a confounder: contours of the ACME over the shares of residual variance
# of the mediator and of the outcome that it would explain (R's ``sens.par = "R2"``).

# %%
ax = sens.plot(sens_par="R2", r_type="residual")

# %%
# The proportion mediated is unstable here
# ----------------------------------------
#
# The total effect's interval covers 0, so the proportion mediated is a ratio whose denominator
# may be 0: the summary says so in a note and ``to_frame()`` flags the rows.

# %%
print(fit.to_frame().loc[lambda f: f.index.str.startswith("prop_"), ["estimate", "ci_lower", "ci_upper",
                                                                      "ratio_unstable"]])

# %%
# Heteroskedasticity-robust covariance
# ------------------------------------
#
# R: ``mediate(..., robustSE = TRUE)`` draws the coefficients with an HC3 covariance
# (``sandwich::vcovHC``). Here: ``cov_type="HC3"`` (also HC0-HC2 and ``"cluster"`` with ``cluster=``).

# %%
fit_hc3 = mediate(OUTCOME, MEDIATOR, jobs, cov_type="HC3", sims=1000, random_state=2014)
print(fit_hc3.summary().to_frame(style="r"))
hc3_a = fit_hc3.mediator_model.coefficient_table().loc["treat"]
hc3_b = fit_hc3.outcome_model.coefficient_table().loc["job_seek"]
print(f"HC3 standard errors: a {hc3_a['std_error']:.6f} (R 0.048951), b {hc3_b['std_error']:.6f} (R 0.030013)")

# %%
# A binary outcome: employment, probit
# ------------------------------------
#
# ``work1`` is stored as a factor ("psyump" unemployed / "psyemp" employed). Recode it to 0/1 and
# fit a probit outcome model. With a nonlinear outcome the summary uses the long form.

# %%
jobs_bin = jobs.assign(employed=(jobs["work1"] == "psyemp").astype(int))
print(jobs_bin["employed"].value_counts())
fit_probit = mediate(f"employed ~ treat + job_seek + {COVARIATES}", MEDIATOR, jobs_bin,
                     outcome_family="probit", sims=1000, random_state=2014)
print(fit_probit.summary().to_frame(style="r"))

# %%
# Output formats
# --------------
#
# The summary renders as text (``str``), LaTeX (booktabs), HTML and Markdown, and as DataFrames
# (``to_frame(style="tidy" | "r" | "statsmodels")``).

# %%
print(boot.summary().as_latex(caption="JOBS II: causal mediation effects", label="tab:jobs"))

# %%
print(boot.summary().to_frame(style="statsmodels"))

# %%
# Plot
# ----
#
# The equivalent of R's ``plot(med.out)``: ACME, ADE and total effect with intervals, treated
# (filled) and control (hollow) arms. The method returns the matplotlib Axes.

# %%
ax = fit_int.plot()
ax.set_title("JOBS II, treatment x mediator interaction")
