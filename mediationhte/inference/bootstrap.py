"""The one bootstrap engine: resamplers, child seeds fixed up front, joblib over replicates.

Every ``bootstrap_ci()`` of the package runs through :func:`bootstrap_draws`:

1. the parent generator gives one child seed per task, before any work starts;
2. each task builds ``np.random.default_rng(seed)``, draws its resample(s) from
   a resampler and evaluates the statistic with the same generator;
3. tasks run through :func:`mediationhte.core.parallel.run_replicates`, in order,

so the draws are identical for any ``n_jobs`` and joblib backend. A task is one
resample (learners refitted per resample) or a chunk of resamples evaluated
together (the batched linear refits of ``mediate()``).

The resamplers are the designs' units of randomisation:

* :class:`CaseResampler`: rows with replacement (the iid bootstrap);
* :class:`ArmResampler`: rows with replacement within each treatment arm (the arm
  sizes stay fixed, as in a trial with fixed allocation);
* :class:`ClusterResampler`: whole clusters within each arm (a cluster-randomised
  trial; a cluster drawn twice becomes two clusters);
* :class:`TrajectoryResampler`: whole trajectories (sequential decisions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from joblib import delayed

from mediationhte.core.immutable import readonly
from mediationhte.core.parallel import run_replicates
from mediationhte.core.random_state import spawn_seeds
from mediationhte.errors import ParameterError

__all__ = [
    "ArmResampler",
    "CaseResampler",
    "ClusterResampler",
    "Resample",
    "TrajectoryResampler",
    "bootstrap_draws",
    "resample_counts",
    "resample_indices",
    "resampled",
]


@dataclass(frozen=True, eq=False)
class Resample:
    """One bootstrap sample: positions of the original rows (repeats allowed) and, for clusters, new ids."""

    rows: np.ndarray
    groups: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class CaseResampler:
    """Rows drawn with replacement: ``rng.integers(0, n, n)``."""

    n: int
    name: str = "cases"

    def draw(self, rng: np.random.Generator) -> Resample:
        """One resample of the n rows."""
        return Resample(rng.integers(0, self.n, size=self.n))

    def counts(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` resamples as counts (size, n) of each row: the weights of batched refits."""
        return resample_counts(rng, self.n, size)


@dataclass(frozen=True, eq=False)
class ArmResampler:
    """Rows drawn with replacement within each arm of a 0/1 treatment, then shuffled (fixed arm sizes)."""

    treatment: np.ndarray = field(repr=False)
    name: str = "cases within arms"

    def draw(self, rng: np.random.Generator) -> Resample:
        """One resample keeping the number of treated and control rows."""
        t = self.treatment
        rows = np.concatenate([rng.choice(np.flatnonzero(t == arm), size=int((t == arm).sum()), replace=True)
                               for arm in (0, 1)])
        return Resample(rows[rng.permutation(len(t))])


@dataclass(frozen=True, eq=False)
class ClusterResampler:
    """Whole clusters drawn with replacement within each arm; every drawn copy of a cluster gets a new id.

    In a cluster-randomised trial the cluster is the unit of randomisation, and an
    iid bootstrap over rows ignores the within-cluster correlation (intervals far
    too narrow). A cluster drawn twice enters as two clusters, so its random
    intercept is not shared between the copies.
    """

    groups: np.ndarray = field(repr=False)
    treatment: np.ndarray = field(repr=False)
    name: str = "clusters within arms"

    def draw(self, rng: np.random.Generator) -> Resample:
        """One resample of whole clusters, keeping the number of treated and control clusters."""
        _, codes = np.unique(self.groups, return_inverse=True)
        sizes = np.bincount(codes)
        treated = np.bincount(codes, weights=self.treatment) / sizes > 0.5
        rows_of = np.split(np.argsort(codes, kind="stable"), np.cumsum(sizes)[:-1])
        picked = np.concatenate([rng.choice(np.flatnonzero(treated == arm), size=int((treated == arm).sum()),
                                            replace=True) for arm in (False, True)])
        rows = np.concatenate([rows_of[c] for c in picked])
        return Resample(rows, np.repeat(np.arange(len(picked)), sizes[picked]))


@dataclass(frozen=True, eq=False)
class TrajectoryResampler:
    """Whole trajectories drawn with replacement (``trajectory`` holds 0..N-1 per row)."""

    trajectory: np.ndarray = field(repr=False)
    name: str = "whole trajectories"

    def draw(self, rng: np.random.Generator) -> Resample:
        """One resample of N trajectories; rows keep their order within a trajectory."""
        traj = self.trajectory
        n_traj = int(traj.max()) + 1
        order = np.argsort(traj, kind="stable")
        sizes = np.bincount(traj, minlength=n_traj)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        picked = rng.integers(0, n_traj, size=n_traj)
        # the rows of the picked trajectories: each trajectory's start plus 0..size-1
        lengths = sizes[picked]
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return Resample(order[np.repeat(starts[picked], lengths) + within])


def resampled(statistic: Callable[[Resample, np.random.Generator], np.ndarray], resampler):
    """A replicate function for :func:`bootstrap_draws` that refits ``statistic`` on one resample at a time.

    ``statistic(sample, rng)`` gets the resample and the replicate's generator (for
    its learners' seeds) and returns a 1-D array of estimates (NaN if it fails).
    """
    def replicate(rng: np.random.Generator, size: int) -> np.ndarray:
        return np.vstack([np.asarray(statistic(resampler.draw(rng), rng), dtype=float) for _ in range(size)])

    return replicate


def _run_task(replicate, size: int, seed: int) -> np.ndarray:
    return np.atleast_2d(replicate(np.random.default_rng(seed), size))


def bootstrap_draws(replicate: Callable[[np.random.Generator, int], np.ndarray], n_boot: int,
                    rng: np.random.Generator, *, chunk_size: int = 1, n_jobs: int = 1, progress: bool = False,
                    desc: str = "bootstrap", prefer: str | None = None) -> np.ndarray:
    """``n_boot`` replicates of a statistic as an (n_boot, k) array, identical for any ``n_jobs``.

    Parameters
    ----------
    replicate : callable ``(rng, size) -> ndarray (size, k)``
        Draws ``size`` resamples from ``rng`` and returns their estimates; see
        :func:`resampled` for one refit per resample.
    n_boot : int
        Number of resamples.
    rng : numpy.random.Generator
        The parent generator: one child seed per task is drawn from it first.
    chunk_size : int, default 1
        Resamples per task (each task has its own child seed); fixed, so that
        the draws do not depend on ``n_jobs``.
    n_jobs, progress, desc, prefer
        As :func:`mediationhte.core.parallel.run_replicates`.
    """
    sizes = [min(chunk_size, n_boot - start) for start in range(0, n_boot, chunk_size)]
    seeds = spawn_seeds(rng, len(sizes))
    tasks = (delayed(_run_task)(replicate, size, int(seed)) for size, seed in zip(sizes, seeds))
    return readonly(np.vstack(run_replicates(tasks, total=len(sizes), n_jobs=n_jobs, progress=progress, desc=desc,
                                             prefer=prefer)), float)


# --------------------------------------------------------------------------------------
# batched case resampling (the linear refits weight rows by their counts)
# --------------------------------------------------------------------------------------
def _strata_layout(strata, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-row stratum sizes ``high`` and the offset map for stratified draws."""
    strata = np.asarray(strata)
    if strata.shape != (n,):
        raise ParameterError(f"Parameter strata must have shape ({n},); got {strata.shape}.",
                             parameter="strata")
    _, codes, sizes = np.unique(strata, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    order = np.argsort(codes, kind="stable")  # rows grouped by stratum, original order within
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return sizes[codes], order, starts[codes]


def resample_indices(rng: np.random.Generator, n: int, B: int, *, strata=None) -> np.ndarray:
    """Bootstrap row indices for ``B`` replicates.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed).
    n : int
        Number of rows.
    B : int
        Number of replicates.
    strata : array_like of shape (n,), optional
        Group labels (for example the treatment arm). Row slot ``j`` of every
        replicate is then drawn from the stratum of row ``j``, so each replicate
        keeps every stratum's size.

    Returns
    -------
    ndarray of shape (B, n), int64
        Row ``b`` holds the ``n`` indices of replicate ``b``.

    Notes
    -----
    Draw order: one call ``rng.integers(0, high, size=(B, n))``, consumed
    row-major, i.e. replicate by replicate, slot by slot. Without strata
    ``high = n``; with strata ``high[j]`` is the size of row ``j``'s stratum and the
    draw is mapped to the rows of that stratum (sorted by label, original order
    within). Because draws are row-major, splitting ``B`` into chunks, each drawn
    from its own child generator, is reproducible given the child seeds.
    :func:`resample_counts` draws exactly these indices and counts them.
    """
    n, B = int(n), int(B)
    if strata is None:
        return rng.integers(0, n, size=(B, n))
    high, order, offset = _strata_layout(strata, n)
    draws = rng.integers(0, high, size=(B, n))
    return order[offset + draws]


def resample_counts(rng: np.random.Generator, n: int, B: int, *, strata=None) -> np.ndarray:
    """Nonparametric bootstrap as resampling counts.

    Returns
    -------
    ndarray of shape (B, n), int32
        ``counts[b, i]`` is how often row ``i`` appears in replicate ``b``; every
        row sums to ``n`` (and, with strata, to each stratum's size over its rows).
        Use it as the weight matrix of the batched fitters of
        :mod:`mediationhte.mediation.batched`.

    Notes
    -----
    The counts are ``np.bincount`` of the indices that :func:`resample_indices`
    draws from the same generator state (same draw order: row-major, replicate
    by replicate), computed for all replicates at once by offsetting replicate
    ``b``'s indices by ``b * n``.
    """
    n, B = int(n), int(B)
    idx = resample_indices(rng, n, B, strata=strata)
    idx += (np.arange(B, dtype=np.int64) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=B * n).astype(np.int32).reshape(B, n)
