"""Results are immutable and inputs are never modified."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mediationhte import load_jobs, mediate

OUTCOME = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MEDIATOR = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def fit():
    return mediate(OUTCOME, MEDIATOR, load_jobs(), sims=100, random_state=3)


def test_attributes_cannot_be_set(fit):
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.interaction = True
    with pytest.raises(TypeError):
        fit.settings["sims"] = 5
    with pytest.raises(TypeError):
        fit.point_estimates["total"] = 0.0
    with pytest.raises(ValueError):
        fit.qb_draws[0, 0] = 1.0
    with pytest.raises(ValueError):
        fit.mediator_model.params[0] = 1.0


def test_returned_frames_are_copies(fit):
    before = fit.to_frame().copy()
    frame = fit.to_frame()
    frame.iloc[:, :5] = 0.0
    draws, effects, estimates = fit.draws, fit.effects, fit.estimates
    draws.iloc[:, :] = 0.0
    effects.iloc[:, :] = 0.0
    estimates.iloc[:] = 0.0
    assert fit.to_frame().equals(before)
    assert not np.allclose(fit.effects.to_numpy(), 0.0)


def test_bootstrap_leaves_parent_intact(fit):
    before = fit.to_frame().copy()
    draws_before = fit.draws.copy()
    boot = fit.bootstrap_ci(n_boot=100, random_state=1)
    # the bootstrap reports the parent's original-sample estimates and its own seed
    pd.testing.assert_series_equal(boot.estimates, fit.estimates.rename_axis("effect"))
    assert boot.seed_used == 1 and fit.seed_used != boot.seed_used
    assert fit.to_frame().equals(before)
    assert fit.draws.equals(draws_before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        boot.method = "bca"


def test_input_frame_unchanged():
    data = load_jobs()
    data.loc[data.index[:5], "age"] = np.nan
    copy = data.copy(deep=True)
    import warnings

    from mediationhte import DroppedRowsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        mediate(OUTCOME, MEDIATOR, data, sims=20, random_state=1, covariates={"sex": 1})
    assert data.equals(copy)
    assert list(data.dtypes) == list(copy.dtypes)
