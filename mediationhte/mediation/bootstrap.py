"""Case bootstrap of ``mediate()``: both models refitted on every resample, batched, through the one engine."""

from __future__ import annotations

import pandas as pd

from mediationhte.core.parallel import blas_limit
from mediationhte.core.random_state import resolve_seed
from mediationhte.inference.bootstrap import CaseResampler, bootstrap_draws
from mediationhte.inference.bootstrap_results import BootstrapResults, bootstrap_results
from mediationhte.mediation.estimation import jackknife_draws, prepare_refits, weighted_replicates
from mediationhte.report.summary import EFFECT_KEYS

#: Resamples per parallel task; fixed so that results are identical for any n_jobs.
BOOT_CHUNK = 125
#: The estimands whose refit must be finite for a resample to count (the proportions may be infinite).
REQUIRED = tuple(range(5))


def bootstrap_report(parts: dict, *, method: str, n_boot: int, n_failed: int, seed_used) -> dict:
    """The fit's summary layout, relabelled for the bootstrap: interval method, resamples, bootstrap seed."""
    parts = dict(parts, method=method, n_sims=n_boot, p_floor=1.0 / max(n_boot - n_failed, 1))
    footer = [row for row in parts["footer"] if row[0] != "Seed"]
    footer.insert(0, ("Bootstrap seed", str(seed_used)))
    if n_failed:
        footer.append(("Failed resamples", f"{n_failed} (dropped)"))
    parts["footer"] = tuple(footer)
    parts["notes"] = tuple(n for n in parts.get("notes", ()) if not n.startswith("Plug-in"))
    return parts


def mediation_bootstrap(results, draws, *, method: str, alpha: float, n_boot: int, seed_used, resampling: str,
                        report: dict, jackknife=None, detail=None) -> BootstrapResults:
    """Package draws of the ten estimands (then any detail) of a linear or ML fit, with its summary relabelled."""
    estimates = pd.Series(dict(results.point_estimates), name="estimate").reindex(list(EFFECT_KEYS))
    return bootstrap_results(
        estimates.rename_axis("effect"), draws, method=method, alpha=alpha, n_boot=n_boot, seed_used=seed_used,
        resampling=resampling, required=REQUIRED, jackknife=jackknife, detail=detail,
        report=lambda n_failed: bootstrap_report(report, method=method, n_boot=n_boot, n_failed=n_failed,
                                                 seed_used=seed_used))


def case_bootstrap(results, *, n_boot: int, method: str, alpha: float, random_state, n_jobs: int, progress: bool,
                   report: dict) -> BootstrapResults:
    """Nonparametric case bootstrap of a linear ``MediationResults``; ``report`` is its summary layout.

    Resamples are counts of each row, drawn in chunks of :data:`BOOT_CHUNK` with one
    child seed each; each chunk is refitted at once by the batched fitters. The
    point estimates stay the original-sample ones (R mediation >= 4.5). ``"bca"``
    adds n leave-one-out refits (batched too) for the acceleration.
    """
    rng, seed_used = resolve_seed(random_state)
    cf = results.counterfactual
    inputs = prepare_refits(results.fit_data, results.mediator_model, results.outcome_model)
    resampler = CaseResampler(cf.n)

    def replicate(chunk_rng, size):
        return weighted_replicates(cf, inputs, resampler.counts(chunk_rng, size).astype(float), chunk_rng)

    with blas_limit(cf.n, inputs.data.X_outcome.shape[1], parallel=n_jobs != 1):
        draws = bootstrap_draws(replicate, n_boot, rng, chunk_size=BOOT_CHUNK, n_jobs=n_jobs, progress=progress,
                                prefer="threads")
        jack = jackknife_draws(cf, inputs) if method == "bca" else None
    return mediation_bootstrap(results, draws, method=method, alpha=alpha, n_boot=n_boot, seed_used=seed_used,
                               resampling=resampler.name, report=report, jackknife=jack)
