"""Same random_state, same numbers: across calls, n_jobs and Generator/int seeds; no global RNG use."""

import numpy as np
import pandas as pd
import pytest

from mediationhte import load_jobs, mediate

OUTCOME = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MEDIATOR = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def fit():
    return mediate(OUTCOME, MEDIATOR, load_jobs(), sims=200, random_state=11)


def test_same_seed_same_draws(fit):
    again = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=200, random_state=11)
    pd.testing.assert_frame_equal(fit.draws, again.draws)
    other = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=200, random_state=12)
    assert not np.allclose(fit.draws.to_numpy(), other.draws.to_numpy())


def test_generator_equals_int_seed():
    a = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=50, random_state=5)
    b = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=50, random_state=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert b.seed_used == "Generator"


def test_unseeded_run_is_reproducible_from_seed_used():
    a = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=50)
    assert isinstance(a.seed_used, int)
    b = mediate(OUTCOME, MEDIATOR, load_jobs(), sims=50, random_state=a.seed_used)
    pd.testing.assert_frame_equal(a.draws, b.draws)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_identical_for_any_n_jobs(fit, method):
    one = fit.bootstrap_ci(n_boot=300, method=method, random_state=3, n_jobs=1)
    two = fit.bootstrap_ci(n_boot=300, method=method, random_state=3, n_jobs=2)
    np.testing.assert_array_equal(one.draws.to_numpy(), two.draws.to_numpy())
    pd.testing.assert_frame_equal(one.to_frame(), two.to_frame())


def test_global_numpy_state_untouched(fit):
    state = np.random.get_state()[1].copy()
    mediate(OUTCOME, MEDIATOR, load_jobs(), sims=20, random_state=1).bootstrap_ci(n_boot=50, random_state=2)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
