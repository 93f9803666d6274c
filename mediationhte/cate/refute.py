"""Refutations of a ``cate()`` fit: placebo treatment and random common cause.

* Placebo: the treatment is permuted, every model refitted; a sound analysis
  gives estimates near 0 (the permuted treatment has no effect by construction).
* Random common cause: an independent N(0, 1) covariate is added and every model
  refitted; a sound analysis barely moves.

Both are checks for gross failures (a pipeline that finds effects anywhere, or is
unstable), not proofs of validity. Each simulation redraws the permutation or the
covariate from its own child seed, so results are identical for any ``n_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import delayed
from tabulate import tabulate

from mediationhte.cate.estimation import fit_cate
from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead
from mediationhte.core.parallel import run_replicates
from mediationhte.core.random_state import resolve_seed, spawn_seeds
from mediationhte.core.types import RandomState
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

REFUTERS = ("placebo", "random_common_cause")
EXPECTED = {"placebo": "near 0 (the permuted treatment has no effect)",
            "random_common_cause": "close to the original (an irrelevant covariate changes nothing)"}
#: The averages refuted, besides the mean unit tau of each learner.
_AVERAGES = (("iptw_stabilised", "IPTW (stabilised)"), ("aipw", "AIPW"))


def _estimates(fit, learners) -> dict[str, float]:
    out = {label: fit.estimates[key].estimate for key, label in _AVERAGES}
    for name in learners:
        out[f"{name.upper()}-learner (mean tau)"] = float(np.mean(fit.unit_effects[name]))
    return out


def _one(kind: str, X, t, y, settings, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    if kind == "placebo":
        t = rng.permutation(t)
    else:
        X = np.column_stack([X, rng.standard_normal(len(y))])
    return _estimates(fit_cate(X, t, y, settings, rng), settings.learners)


@dataclass(frozen=True, eq=False)
class RefutationResults(CopyOnRead):
    """Original versus refuted estimates, with the expected behaviour of each refutation.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (refutation, estimator); columns ``original``, ``refuted`` (mean over
        simulations), ``refuted_sd`` (NaN for one simulation), ``change``,
        ``expected``.
    n_simulations : int
    seed_used : int or str
        The seed of the refutations (``random_state``, or the entropy drawn for None).

    Examples
    --------
    >>> import mediationhte as mh
    >>> fit = mh.cate("depress2 ~ treat + econ_hard + age + sex", mh.load_jobs(), learner="t",
    ...               base_learner="linear", random_state=0)
    >>> ref = fit.refute(methods="placebo", random_state=1)
    >>> ref.seed_used, "placebo: AIPW" in str(ref.summary())
    (1, True)
    """

    table: pd.DataFrame = field(repr=False)
    n_simulations: int
    seed_used: object = None

    def to_frame(self) -> pd.DataFrame:
        """The table (a copy)."""
        return self.table

    def summary(self) -> Summary:
        """Original and refuted estimates as a :class:`~mediationhte.report.summary.Summary` table.

        Returns
        -------
        mediationhte.report.summary.Summary
            Rows ``"<refutation>: <estimator>"``; the expected behaviour of each
            refutation in the notes, the simulations and seed in the footer.
        """
        tab = self.table
        numbers = tab[["original", "refuted", "refuted_sd", "change"]].set_axis(
            [f"{r}: {e}" for r, e in tab.index]).rename(columns={"refuted_sd": "refuted SD"})
        kinds = tab.index.get_level_values("refutation").unique()
        return Summary(title="Refutations of the Average Effects",
                       footer=(("Simulations per refutation", str(self.n_simulations)),
                               ("Seed", str(self.seed_used))),
                       models=(StatsTable("Original and refuted estimates (refuted: mean over simulations)",
                                          numbers),),
                       notes=tuple(f"{k}: expected {EXPECTED[k]}." for k in kinds))

    def __str__(self) -> str:
        """Plain-text table."""
        tab = self.table
        rows = [[r, e, f"{o:.4f}", f"{v:.4f}", "" if np.isnan(s) else f"{s:.4f}", x]
                for (r, e), o, v, s, x in zip(tab.index, tab["original"], tab["refuted"], tab["refuted_sd"],
                                             tab["expected"])]
        body = tabulate(rows, headers=["refutation", "estimator", "original", "refuted", "sd", "expected"],
                        tablefmt="simple", disable_numparse=True)
        return f"Refutations ({self.n_simulations} simulation(s) each)\n{body}\n"

    def __repr__(self) -> str:
        """Return the text table."""
        return str(self)


def refute(results, *, methods=REFUTERS, n_simulations: int = 1, random_state: RandomState = None, n_jobs: int = 1,
           progress: bool = False) -> RefutationResults:
    """Run the refutations on the rows ``results`` used; see :meth:`CateResults.refute`."""
    methods = V.check_options("methods", methods, REFUTERS)
    n_simulations = V.check_positive_int("n_simulations", n_simulations)
    n_jobs = V.check_n_jobs(n_jobs)
    rng, seed_used = resolve_seed(random_state)
    d, settings = results.data, results.settings
    seeds = spawn_seeds(rng, len(methods) * n_simulations).reshape(len(methods), n_simulations)
    tasks = [delayed(_one)(kind, d.X, d.t, d.y, settings, int(seeds[i, s]))
             for i, kind in enumerate(methods) for s in range(n_simulations)]
    runs = run_replicates(tasks, total=len(tasks), n_jobs=n_jobs, progress=progress, desc="refutations")
    original = _estimates(results.fit, settings.learners)
    rows = []
    for i, kind in enumerate(methods):
        frame = pd.DataFrame(runs[i * n_simulations:(i + 1) * n_simulations])
        for name, value in original.items():
            refuted = frame[name].to_numpy()
            rows.append({"refutation": kind, "estimator": name, "original": value, "refuted": refuted.mean(),
                         "refuted_sd": refuted.std(ddof=1) if n_simulations > 1 else np.nan,
                         "change": refuted.mean() - value, "expected": EXPECTED[kind]})
    table = pd.DataFrame(rows).set_index(["refutation", "estimator"])
    return RefutationResults(table=table, n_simulations=n_simulations, seed_used=seed_used)
