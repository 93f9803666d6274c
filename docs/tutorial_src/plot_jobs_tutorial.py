"""
Mediation with JOBS II: a tutorial
==================================

This tutorial is written for a class on causal mediation. It takes one question from a real
experiment and answers it step by step: the average effects first, then how fragile they are,
then whether they differ between people.

The question
------------

The JOBS II experiment (Vinokur and Schul 1997) randomised unemployed workers to job-search
workshops or to a booklet. The workshops lowered depressive symptoms a little. They were
designed to work by raising job-search self-efficacy: confidence in one's ability to look for a
job. **How much of the effect on depression went through self-efficacy?**

A mediation analysis splits the total effect of the treatment :math:`T` on the outcome
:math:`Y` into an *indirect* part, through the mediator :math:`M`, and a *direct* part, through
everything else.
"""

# %%
# The data
# --------
#
# ``load_jobs()`` returns the data of R's ``mediation`` package: 899 workers.
# ``treat`` is the randomised invitation, ``job_seek`` the self-efficacy score (1 to 5) measured
# after the workshops, ``depress2`` the depression score at follow-up, and the rest are
# measured before treatment.

import warnings

import mediationhte as mh

jobs = mh.load_jobs()
print(jobs[["treat", "job_seek", "depress2", "depress1", "econ_hard", "sex", "age"]].head())
print(jobs.groupby("treat")[["job_seek", "depress2"]].mean().round(3))

# %%
# The two models
# --------------
#
# A mediation analysis needs two models. The **mediator model** says how the treatment moves the
# mediator; the **outcome model** how the mediator (and the treatment) move the outcome. Both
# adjust for the same pre-treatment covariates. In R you would fit the two ``lm`` models and
# pass them to ``mediate()``; here you pass the two formulas.

COVARIATES = "depress1 + econ_hard + sex + age"
fit = mh.mediate(f"depress2 ~ treat + job_seek + {COVARIATES}",    # outcome model
                 f"job_seek ~ treat + {COVARIATES}",               # mediator model
                 data=jobs, sims=1000, random_state=2014)
print(fit.mediator_model.coefficient_table().round(4))
print(fit.outcome_model.coefficient_table().round(4))

# %%
# The workshops raised self-efficacy by about 0.07 points (the ``treat`` row of the mediator
# model: this is the "a path"), and each point of self-efficacy lowered depression by about
# 0.18 (the ``job_seek`` row of the outcome model: the "b path"). With linear models and no
# interaction, the indirect effect is the product a × b.
#
# Reading the table
# -----------------

print(fit.summary())

# %%
# * **ACME** (average causal mediation effect): the change in depression caused by moving
#   self-efficacy from its level under the booklet to its level under the workshops, holding
#   the treatment fixed. It is negative: the workshops lowered depression *through*
#   self-efficacy.
# * **ADE** (average direct effect): the effect of the workshops with self-efficacy held at one
#   level: everything that does not go through the mediator.
# * **Total effect** = ACME + ADE.
# * **Prop. mediated** = ACME / total effect. It is a ratio of two noisy numbers; when the
#   total effect's interval covers 0 (as here) it is unstable, and the summary says so.
#
# The intervals are quasi-Bayesian (King, Tomz and Wittenberg 2000): 1000 draws of the two
# models' coefficients, the effects recomputed for each draw, and the 2.5% and 97.5%
# quantiles.
#
# **Control versus treated.** If the mediator's effect on the outcome differs between arms (an
# interaction ``treat:job_seek`` in the outcome model), the ACME depends on which arm the
# treatment is held at: ACME(control) and ACME(treated). ``test_interaction()`` tests whether
# they differ.

fit_int = mh.mediate(f"depress2 ~ treat * job_seek + {COVARIATES}", f"job_seek ~ treat + {COVARIATES}",
                     data=jobs, sims=1000, random_state=2014)
print(fit_int.to_frame().round(4))
print(fit_int.test_interaction())

# %%
# The effects with their intervals, treated arm filled and control arm hollow:

ax = fit_int.plot()

# %%
# The bootstrap
# -------------
#
# The quasi-Bayesian intervals assume the coefficients are approximately normal. The
# nonparametric bootstrap refits both models on resamples of the workers instead. The point
# estimates are unchanged; only the intervals move.

boot = fit.bootstrap_ci(n_boot=500, method="percentile", random_state=2014)
print(boot.summary().to_frame(style="r").round(4))

# %%
# Sensitivity analysis: what ρ means
# ----------------------------------
#
# Randomisation makes the *treatment* as good as random. It does not make the *mediator* as good
# as random: people with more self-efficacy may differ in other ways that also affect
# depression. Such an unmeasured confounder would make the errors of the two models correlated.
# ρ is that correlation. The analysis above assumed ρ = 0; the sensitivity analysis (R's
# ``medsens``) recomputes the ACME for every ρ and reports where it would vanish.

sens = fit.sensitivity()
print(sens.summary())
print("the ACME is 0 at rho =", round(sens.rho_at_zero(), 4))

# %%
ax = sens.plot(sens_par="rho")

# %%
# A ρ of about 0.2 would be enough to explain the ACME away. Whether that is plausible is a
# question about the subject matter, not the data: how strongly could an unmeasured trait
# (optimism, say) drive both self-efficacy and depression? The same result in terms of the
# share of each model's residual variance a confounder would explain:

ax = sens.plot(sens_par="R2", r_type="residual")

# %%
# Moderation by a covariate
# -------------------------
#
# Does the mediated effect differ between men and women? With ``sex`` interacting with the
# treatment in both models, ``test_moderation`` compares the effects at the two values without
# refitting.

fit_mod = mh.mediate("depress2 ~ treat * job_seek + treat * sex + depress1 + econ_hard + age",
                     "job_seek ~ treat * sex + depress1 + econ_hard + age",
                     data=jobs, sims=1000, random_state=2014)
print(fit_mod.test_moderation({"sex": 0}, {"sex": 1}))

# %%
# Who benefits? Heterogeneity with the M-learner
# ----------------------------------------------
#
# Moderation by one chosen covariate is a hypothesis you bring. The M-learner asks the data:
# it estimates each worker's indirect effect with flexible models (here gradient boosting,
# cross-fitted) and then tests whether those effects really differ.

with warnings.catch_warnings():
    warnings.simplefilter("ignore")   # small arms in some folds; the summary reports what matters
    ml = mh.mediate(f"depress2 ~ treat + job_seek + {COVARIATES}", f"job_seek ~ treat + {COVARIATES}",
                    data=jobs, learner="boosting", random_state=2024)
print(ml.summary())

# %%
# The heterogeneity test regresses a pseudo-outcome of each worker's indirect effect on the
# predicted effect (the best linear predictor test). Its null hypothesis is "the indirect
# effect is the same for everyone", not "there is no effect". GATES shows the effect by fifth of
# the predicted effect: a flat line is what no heterogeneity looks like.

test = ml.test_heterogeneity(random_state=7)
print(test)
ax = test.plot()

# %%
# Reading the calibrated subgroups
# --------------------------------
#
# ``subgroups()`` looks for groups of workers with similar unit effects and describes them by
# their covariates (a small decision tree). It uses the same test to decide whether to declare
# heterogeneity at all, finds the groups on one half of the data and estimates their effects on
# the other half, so the reported effects are not flattered by the search.

sub = ml.subgroups(random_state=7)
print(sub)

# %%
# If heterogeneity is not declared, the honest conclusion is that the data do not show the
# mediated effect varying with these covariates, whatever the subgroup rules look like. The
# forest plot shows each subgroup's indirect effect with its interval:

ax = sub.plot_effects()
