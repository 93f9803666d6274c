"""Public signatures are annotated, their annotations resolve, and the Literal options match the run-time checks.

Reference: the run-time option tuples each function validates against (``check_option``); a Literal alias that
drifted from them would let a type checker accept what the function rejects, or reject what it accepts.
"""

import inspect
import typing

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import mediationhte as mh
from mediationhte.core import types as T


def _public_callables():
    for name in mh.__all__:
        obj = getattr(mh, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr in dir(obj):
                if attr.startswith("_"):
                    continue
                raw = inspect.getattr_static(obj, attr)
                func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
                if inspect.isfunction(func) and (func.__module__ or "").startswith("mediationhte"):
                    yield f"{name}.{attr}", func


CALLABLES = dict(_public_callables())


def test_there_are_public_callables_to_check():
    assert len(CALLABLES) > 100 and "mediate" in CALLABLES and "SubgroupResults.plot_effects" in CALLABLES


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_every_parameter_and_return_is_annotated(name):
    sig = inspect.signature(CALLABLES[name])
    missing = [p for p, v in sig.parameters.items() if p not in ("self", "cls") and v.annotation is inspect._empty]
    assert not missing, f"{name}: parameters without an annotation: {missing}"
    assert sig.return_annotation is not inspect._empty, f"{name}: no return annotation"


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_annotations_resolve(name):
    # names imported only under TYPE_CHECKING (Axes, pandas, results classes) come from this namespace
    namespace = {**vars(mh), **vars(T), "Axes": Axes, "pd": pd, "np": np}
    hints = typing.get_type_hints(CALLABLES[name], localns=namespace)
    assert "return" in hints


@pytest.mark.parametrize("alias, runtime", [
    (T.Family, "mediationhte.mediation.models:FAMILIES"),
    (T.CovType, "mediationhte.mediation.models:COV_TYPES"),
    (T.MLEstimator, "mediationhte.mlearner.fit:ESTIMATORS"),
    (T.BootMethod, "mediationhte.inference.bootstrap_results:BOOT_METHODS"),
    (T.FrameStyle, "mediationhte.report.summary:FRAME_STYLES"),
    (T.Embedding, "mediationhte.subgroups.discover:EMBEDDINGS"),
    (T.Calibration, "mediationhte.subgroups.calibration:CALIBRATIONS"),
    (T.Profile, "mediationhte.subgroups.discover:PROFILES"),
    (T.MetaLearner, "mediationhte.cate.metalearners:META_LEARNERS"),
    (T.CrtLearner, "mediationhte.crt.estimation:CRT_LEARNERS"),
    (T.ClusterWeights, "mediationhte.crt.inference:WEIGHTS"),
    (T.BalanceKind, "mediationhte.cate.balance:BALANCE_KINDS"),
    (T.Refuter, "mediationhte.cate.refute:REFUTERS"),
    (T.DynamicEstimator, "mediationhte.api.dynamic:ESTIMATORS"),
    (T.QBasis, "mediationhte.api.dynamic:Q_BASES"),
    (T.RatioFeatures, "mediationhte.api.dynamic:RATIO_FEATURES"),
    (T.NuisanceRole, "mediationhte.dynamic.nuisances:CROSSFIT_ROLES"),
    (T.DynamicScenario, "mediationhte.datasets.dynamic:DESIGNS"),
    (T.CrtScenario, "mediationhte.datasets.crt:CRT_SCENARIOS"),
])
def test_literal_options_match_the_runtime_checks(alias, runtime):
    import importlib

    module, attr = runtime.split(":")
    values = getattr(importlib.import_module(module), attr)
    assert set(typing.get_args(alias)) == set(values), runtime


def test_options_in_signatures_are_literals():
    # a plain `str` with a string default is an option the signature does not spell out
    plain = {name: [p for p, v in inspect.signature(f).parameters.items()
                    if v.annotation in ("str", "str | None") and isinstance(v.default, str)]
             for name, f in CALLABLES.items()}
    assert not {k: v for k, v in plain.items() if v}
