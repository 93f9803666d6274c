"""Same random_state, same numbers: across calls, n_jobs and Generator/int seeds; no global RNG use.

The first tests are specific to the linear mediate(); the parametrised ones below run every public fit
(tests/public_fits.py: mediate() linear, with learner="boosting" and with parallel mediators, cate() with
meta-learners and with a (1 | cluster) term, dynamic_mediation() tabular and cross-fitted) and their
bootstrap_ci() and subgroups(). The documented rules (mediationhte.core.random_state.resolve_seed): an int seeds
numpy.random.default_rng(int), so it equals passing that Generator (whose seed_used is "Generator"); None draws
fresh entropy and records it in seed_used; n_jobs never changes a number; the global numpy state is never used.
"""

import numpy as np
import pandas as pd
import pytest

from mediationhte import load_jobs, mediate
from public_fits import (BOOT_CASES, CASES, SUB_CASES, assert_same_numbers, boot_numbers, differs, global_rng_state,
                         sub_numbers)

OUTCOME = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MEDIATOR = "job_seek ~ treat + econ_hard + sex + age"
SEED = 11


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


# ------------------------------------------------------------------------------------------ every public fit
@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def case_fit(request):
    case = request.param
    data = case.data()
    return case, data, case.fit(data, SEED)


def test_fit_same_seed_same_numbers(case_fit):
    case, data, base = case_fit
    numbers = case.numbers(base)
    assert_same_numbers(numbers, case.numbers(case.fit(data, SEED)))
    assert base.seed_used == SEED
    if case.stochastic:  # the seed is used at all
        assert differs(numbers, case.numbers(case.fit(data, SEED + 1)))


def test_fit_generator_equals_int_seed(case_fit):
    case, data, base = case_fit
    by_generator = case.fit(data, np.random.default_rng(SEED))
    assert by_generator.seed_used == "Generator"
    assert_same_numbers(case.numbers(base), case.numbers(by_generator))


def test_fit_identical_for_any_n_jobs(case_fit):
    case, data, base = case_fit
    assert_same_numbers(case.numbers(base), case.numbers(case.fit(data, SEED, 2)))


def test_unseeded_fit_is_reproducible_from_seed_used(case_fit):
    case, data, _ = case_fit
    unseeded = case.fit(data, None)
    assert isinstance(unseeded.seed_used, int) and not isinstance(unseeded.seed_used, bool)
    assert_same_numbers(case.numbers(unseeded), case.numbers(case.fit(data, unseeded.seed_used)))


def test_global_numpy_state_untouched_by_every_fit(case_fit):
    case, data, base = case_fit
    before = global_rng_state()
    res = case.fit(data, SEED + 2)
    if case.boot is not None:
        case.boot(res, 1)
    if case.sub is not None:
        case.sub(res, 1)
    assert global_rng_state() == before


@pytest.fixture(scope="module", params=BOOT_CASES, ids=lambda c: c.name)
def case_boot(request):
    case = request.param
    data = case.data()
    res = case.fit(data, SEED)
    return case, res, case.boot(res, 7)


def test_bootstrap_reproducible(case_boot):
    case, res, boot = case_boot
    numbers = boot_numbers(boot)
    assert boot.seed_used == 7
    assert_same_numbers(numbers, boot_numbers(case.boot(res, 7)))
    assert differs(numbers, boot_numbers(case.boot(res, 8)))
    by_generator = case.boot(res, np.random.default_rng(7))
    assert by_generator.seed_used == "Generator"
    assert_same_numbers(numbers, boot_numbers(by_generator))
    assert_same_numbers(numbers, boot_numbers(case.boot(res, 7, 2)))
    unseeded = case.boot(res, None)
    assert isinstance(unseeded.seed_used, int)
    assert_same_numbers(boot_numbers(unseeded), boot_numbers(case.boot(res, unseeded.seed_used)))


@pytest.fixture(scope="module", params=SUB_CASES, ids=lambda c: c.name)
def case_sub(request):
    case = request.param
    data = case.data()
    res = case.fit(data, SEED)
    return case, res, case.sub(res, 7)


def test_subgroups_reproducible(case_sub):
    # The seed actually used is recorded in the search's settings (SubgroupResults.fit.settings["seed_used"]).
    case, res, sub = case_sub
    numbers = sub_numbers(sub)
    assert sub.fit.settings["seed_used"] == 7
    assert_same_numbers(numbers, sub_numbers(case.sub(res, 7)))
    by_generator = case.sub(res, np.random.default_rng(7))
    assert by_generator.fit.settings["seed_used"] == "Generator"
    assert_same_numbers(numbers, sub_numbers(by_generator))
    assert_same_numbers(numbers, sub_numbers(case.sub(res, 7, 2)))
    unseeded = case.sub(res, None)
    seed = unseeded.fit.settings["seed_used"]
    assert isinstance(seed, int)
    assert_same_numbers(sub_numbers(unseeded), sub_numbers(case.sub(res, seed)))
