"""Results are immutable and inputs are never modified.

The first tests are specific to the linear mediate(); the parametrised ones below run every public fit
(tests/public_fits.py) and its bootstrap_ci() and subgroups(): results are frozen dataclasses with read-only arrays,
every returned DataFrame or Series is a copy, the input DataFrame is never modified, and bootstrap_ci() and
subgroups() leave the parent fit intact.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mediationhte import load_jobs, mediate
from public_fits import BOOT_CASES, CASES, SUB_CASES, assert_same_numbers, boot_numbers, sub_numbers

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


# ------------------------------------------------------------------------------------------ every public fit
# The cases of tests/public_fits.py: mediate() linear, with learner="boosting" and with parallel mediators, cate()
# with meta-learners and with a (1 | cluster) term, dynamic_mediation() tabular and cross-fitted, plus their
# bootstrap_ci() and subgroups() where they exist.


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def everything(request):
    """A case's input, a deep copy taken before anything ran, and its fit, bootstrap and subgroups."""
    case = request.param
    data = case.data()
    before = data.copy(deep=True)
    fit = case.fit(data, 3)
    boot = None if case.boot is None else case.boot(fit, 1)
    sub = None if case.sub is None else case.sub(fit, 1)
    for obj in (fit, boot, sub):  # printing and tables must not touch the input either
        if obj is not None and hasattr(obj, "summary"):
            str(obj.summary())
    return case, data, before, [(fit, case.numbers), (boot, boot_numbers), (sub, sub_numbers)]


def _mutate(value):
    """Overwrite every number of a returned DataFrame or Series, in place and through .to_numpy() when writable."""
    frame = value.to_frame() if isinstance(value, pd.Series) else value
    for j, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            raw = frame.iloc[:, j].to_numpy()
            if raw.flags.writeable:
                raw[...] = -99
    if isinstance(value, pd.Series):
        if pd.api.types.is_numeric_dtype(value.dtype) and not pd.api.types.is_bool_dtype(value.dtype):
            value.iloc[:] = -99
    else:
        for j, dtype in enumerate(value.dtypes):
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                value.iloc[:, j] = -99


def test_every_result_is_frozen(everything):
    _, _, _, objects = everything
    for obj, _ in objects:
        if obj is None:
            continue
        for f in dataclasses.fields(obj):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(obj, f.name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.new_attribute = 1
        for path, value in _arrays(obj):  # array attributes, also of the fit objects inside, are read-only
            assert not value.flags.writeable, path


def _arrays(obj, path="", depth=0):
    """(path, array) for every ndarray reachable through dataclass fields, two levels deep."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        here = f"{path or type(obj).__name__}.{f.name}"
        if isinstance(value, np.ndarray):
            yield here, value
        elif dataclasses.is_dataclass(value) and not isinstance(value, type) and depth < 2:
            yield from _arrays(value, here, depth + 1)


def test_every_returned_frame_is_a_copy(everything):
    _, _, _, objects = everything
    for obj, numbers in objects:
        if obj is None:
            continue
        snapshot = {key: value.copy(deep=True) for key, value in numbers(obj).items()}
        for key in snapshot:
            _mutate(numbers(obj)[key])
        assert_same_numbers(snapshot, numbers(obj))


def test_input_frame_never_modified(everything):
    _, data, before, _ = everything
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert data.attrs.keys() == before.attrs.keys()


@pytest.mark.parametrize("case, method", [(c, "bootstrap_ci") for c in BOOT_CASES] + [(c, "subgroups") for c in SUB_CASES],
                         ids=lambda v: getattr(v, "name", v))
def test_bootstrap_and_subgroups_leave_the_parent_intact(case, method):
    run = case.boot if method == "bootstrap_ci" else case.sub
    data = case.data()
    fit = case.fit(data, 5)
    before = {key: value.copy(deep=True) for key, value in case.numbers(fit).items()}
    out = run(fit, 2)
    assert_same_numbers(before, case.numbers(fit))
    assert fit.seed_used == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.alpha = 0.5
