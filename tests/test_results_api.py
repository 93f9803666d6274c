"""One results API: every public results class has summary() -> Summary, to_frame() (a copy) and plot(ax=None, ...).

Also checked here: methods with randomness record ``seed_used`` (None = fresh entropy that reproduces the run),
every class a public function or method returns is exported in ``mediationhte.__all__``, the three simulators
share one argument style, and a Summary can present tables that are not an effects table. Data are small and
draws few, so the whole file runs in seconds.
"""

import doctest
import importlib
import inspect

import matplotlib
import numpy as np
import pandas as pd
import pytest

import mediationhte as mh
from mediationhte import MediationHTEError, ParameterError, StatsTable, Summary

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Y = "depress2 ~ treat + job_seek + econ_hard + sex + age"
M = "job_seek ~ treat + econ_hard + sex + age"


# --------------------------------------------------------------------------- one object of every results class
@pytest.fixture(scope="module")
def objects():
    jobs = mh.load_jobs()
    fit = mh.mediate(Y, M, jobs, sims=50, random_state=1)
    moderated = mh.mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", jobs, sims=50,
                           random_state=1)
    interacted = mh.mediate("depress2 ~ treat * job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs, sims=50,
                            random_state=1)
    ml = mh.mediate(Y, M, jobs.iloc[:300], learner="boosting", n_folds=2, random_state=1)
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 300).astype(float)
    par = pd.DataFrame({"t": t, "m1": 0.5 * t + rng.normal(size=300), "m2": -0.4 * t + rng.normal(size=300)})
    par["y"] = 0.3 * t + 0.6 * par["m1"] + 0.5 * par["m2"] + rng.normal(size=300)
    cf = mh.cate("depress2 ~ treat + econ_hard + age + sex", jobs, learner="t", base_learner="linear",
                 random_state=0)
    crt = mh.cate("y ~ treat * (x1 + x2) + (1 | cluster)",
                  mh.simulate_crt("A", n_clusters=8, cluster_size=(5, 10), random_state=1))
    dyn = mh.dynamic_mediation(mh.simulate_dynamic("toy1", n_trajectories=20, horizon=8, random_state=2), id="id",
                               time="time", state="state", action="action", mediator="mediator", reward="reward",
                               target_policy=0.8)
    return {
        "MediationResults": fit,
        "MLMediationResults": ml,
        "ParallelMediationResults": mh.mediate("y ~ t + m1 + m2", ["m1 ~ t", "m2 ~ t"], par, sims=50, random_state=1),
        "BootstrapResults": fit.bootstrap_ci(n_boot=20, random_state=3),
        "SensitivityResults": fit.sensitivity(random_state=4),
        "EffectDifference": interacted.test_interaction(),
        "EffectDifferences": moderated.test_moderation({"sex": 1}, {"sex": 0}, sims=50, random_state=5),
        "EffectsByLevel": moderated.by("sex", sims=50, random_state=6),
        "CateResults": cf,
        "PropensityResults": cf.propensity(),
        "BalanceResults": cf.balance(),
        "UpliftResults": cf.uplift(),
        "RefutationResults": cf.refute(methods="placebo", random_state=7),
        "SubgroupResults": cf.subgroups(k=[2], embedding="none", calibration="split", random_state=8),
        "CrtResults": crt,
        "DynamicMediationResults": dyn,
    }


RESULTS = ("MediationResults", "MLMediationResults", "ParallelMediationResults", "BootstrapResults",
           "SensitivityResults", "EffectDifference", "EffectDifferences", "EffectsByLevel", "CateResults",
           "PropensityResults", "BalanceResults", "UpliftResults", "RefutationResults", "SubgroupResults",
           "CrtResults", "DynamicMediationResults")
PLOTS = ("MediationResults", "MLMediationResults", "ParallelMediationResults", "BootstrapResults",
         "SensitivityResults", "CateResults", "PropensityResults", "BalanceResults", "UpliftResults",
         "SubgroupResults", "CrtResults", "DynamicMediationResults")


def test_the_inventory_is_every_results_class():
    # every class named *Results (or a test result) that mediationhte exports is checked below
    exported = {n for n in mh.__all__ if n.endswith("Results") and n != "FitResults"}
    assert exported | {"EffectDifference", "EffectDifferences", "EffectsByLevel"} == set(RESULTS)


@pytest.mark.parametrize("name", RESULTS)
def test_summary_returns_a_summary_that_renders(objects, name):
    obj = objects[name]
    assert type(obj).__name__ == name
    s = obj.summary()
    assert isinstance(s, Summary)
    text = str(s)
    assert text.strip() and text == s.as_text() and s.title in text
    latex = s.as_latex()
    assert latex.startswith(r"\begin{table}") and latex.rstrip().endswith(r"\end{table}")
    assert s.as_html().startswith('<div class="mediationhte-summary">')
    assert s.as_markdown().startswith("## ")
    assert isinstance(s.to_frame(), pd.DataFrame)


@pytest.mark.parametrize("name", RESULTS)
def test_to_frame_returns_a_copy(objects, name):
    obj = objects[name]
    frame = obj.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    before = frame.copy()
    column = next(c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]))
    frame[column] = -12345.0
    frame["added"] = 1
    pd.testing.assert_frame_equal(obj.to_frame(), before)


@pytest.mark.parametrize("name", PLOTS)
def test_plot_takes_ax_first_and_the_rest_by_keyword(objects, name):
    obj = objects[name]
    methods = [m for m in dir(obj) if m.startswith("plot")]
    for method in methods:
        params = list(inspect.signature(getattr(obj, method)).parameters.values())
        assert params[0].name == "ax" and params[0].default is None, (name, method)
        assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:]), (name, method)
    fig, ax = plt.subplots()
    assert obj.plot(ax) is ax
    assert obj.plot(ax=ax) is ax
    assert isinstance(obj.plot(), matplotlib.axes.Axes)
    plt.close("all")


@pytest.mark.parametrize("name", sorted(set(RESULTS) - set(PLOTS)))
def test_classes_without_a_plot(objects, name):
    # tests and refutations have no natural picture; their numbers are in summary() and to_frame()
    assert not hasattr(objects[name], "plot")


@pytest.mark.parametrize("name", RESULTS)
def test_every_results_class_is_exported(objects, name):
    cls = type(objects[name])
    assert cls.__name__ in mh.__all__ and getattr(mh, cls.__name__) is cls


def test_summary_tables_are_exported(objects):
    kinds = {type(m) for name in RESULTS for m in objects[name].summary().models}
    assert kinds == {mh.ModelTable, mh.StatsTable}
    for cls in kinds | {Summary}:
        assert cls.__name__ in mh.__all__


def test_every_public_method_returns_an_exported_class_or_a_plain_type(objects):
    plain = (pd.DataFrame, pd.Series, float, int, str, bool, tuple, list, dict, np.ndarray, type(None))
    for name in RESULTS:
        obj = objects[name]
        for attr in dir(type(obj)):
            member = getattr(type(obj), attr)
            if attr.startswith("_") or not callable(member) or attr.startswith("plot") \
                    or isinstance(inspect.getattr_static(type(obj), attr), (classmethod, staticmethod)):
                continue
            required = [p for p in list(inspect.signature(member).parameters.values())[1:]
                        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if required or attr in ("bootstrap_ci", "subgroups", "refute", "sensitivity", "by", "predict",
                                    "test_moderation", "cate_intervals", "subgroup_effects", "test_interaction",
                                    "test_heterogeneity"):
                continue   # needs arguments or is slow (test_heterogeneity: tests/test_heterogeneity.py checks it)
            out = getattr(obj, attr)()
            ok = isinstance(out, plain) or (type(out).__module__.startswith("mediationhte")
                                            and type(out).__name__ in mh.__all__)
            assert ok, f"{name}.{attr}() returns {type(out).__name__}, which mediationhte does not export"


# --------------------------------------------------------------------------- randomness
@pytest.mark.parametrize("name, seed", [("BootstrapResults", 3), ("SensitivityResults", 4), ("EffectDifferences", 5),
                                        ("EffectsByLevel", 6), ("RefutationResults", 7), ("SubgroupResults", 8)])
def test_methods_with_randomness_record_the_seed(objects, name, seed):
    assert objects[name].seed_used == seed


def test_fits_record_their_seed(objects):
    assert objects["MediationResults"].seed_used == 1 and objects["CateResults"].seed_used == 0


@pytest.mark.parametrize("method", ["by", "test_moderation", "bootstrap_ci", "sensitivity"])
def test_random_state_none_is_fresh_entropy_that_reproduces_the_run(method):
    fit = mh.mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", mh.load_jobs(), sims=30,
                     random_state=1)
    call = {"by": lambda rs: fit.by("sex", sims=30, random_state=rs),
            "test_moderation": lambda rs: fit.test_moderation({"sex": 1}, {"sex": 0}, sims=30, random_state=rs),
            "bootstrap_ci": lambda rs: fit.bootstrap_ci(n_boot=5, random_state=rs),
            "sensitivity": lambda rs: fit.sensitivity(random_state=rs)}[method]
    first = call(None)
    assert isinstance(first.seed_used, int) and first.seed_used >= 0
    again = call(first.seed_used)
    assert again.seed_used == first.seed_used
    pd.testing.assert_frame_equal(again.to_frame(), first.to_frame())


def test_subgroups_and_refute_record_fresh_entropy(objects):
    cf = objects["CateResults"]
    sub = cf.subgroups(k=[2], embedding="none", calibration="split")
    ref = cf.refute(methods="placebo")
    for res in (sub, ref):
        assert isinstance(res.seed_used, int)
    again = cf.refute(methods="placebo", random_state=ref.seed_used)
    pd.testing.assert_frame_equal(again.to_frame(), ref.to_frame())


def test_subgroup_sensitivity_records_its_seed():
    fit = mh.mediate("depress2 ~ treat * (econ_hard + sex) + job_seek", "job_seek ~ treat * (econ_hard + sex)",
                     mh.load_jobs(), sims=30, random_state=1)
    sub = fit.subgroups(k=[2], embedding="none", calibration="threshold", p_threshold=0.0043, n_boot=10,
                        random_state=1)
    assert sub.seed_used == 1
    assert sub.sensitivity(random_state=9).attrs["seed_used"] == 9
    assert isinstance(sub.sensitivity().attrs["seed_used"], int)


@pytest.mark.parametrize("simulator, args", [(mh.simulate, ("simple_all", 50)), (mh.simulate_crt, ("A", 4)),
                                             (mh.simulate_dynamic, ("toy1", 3, 4))])
def test_simulators_record_the_seed(simulator, args):
    d = simulator(*args)
    assert isinstance(d.attrs["seed_used"], int)
    pd.testing.assert_frame_equal(simulator(*args, random_state=d.attrs["seed_used"]), d)


# --------------------------------------------------------------------------- simulators
@pytest.mark.parametrize("simulator, sizes", [(mh.simulate, ["n"]), (mh.simulate_crt, ["n_clusters", "cluster_size"]),
                                              (mh.simulate_dynamic, ["n_trajectories", "horizon"])])
def test_simulators_share_one_argument_style(simulator, sizes):
    params = list(inspect.signature(simulator).parameters.values())
    assert params[0].name == "scenario" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert [p.name for p in params[1:1 + len(sizes)]] == sizes
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[1:1 + len(sizes)])
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1 + len(sizes):])
    assert params[-1].name == "random_state" and params[-1].default is None


def test_simulate_dynamic_old_design_keyword_still_works():
    new = mh.simulate_dynamic("toy2_iid", 3, 4, random_state=1)
    with pytest.warns(DeprecationWarning, match="scenario"):
        old = mh.simulate_dynamic(design="toy2_iid", n_trajectories=3, horizon=4, random_state=1)
    pd.testing.assert_frame_equal(old, new)
    assert new.attrs["scenario"] == new.attrs["design"] == "toy2_iid"
    with pytest.warns(DeprecationWarning), pytest.raises(ParameterError) as err:
        mh.simulate_dynamic("semi_synthetic", design="toy1")
    assert err.value.parameter == "design"


def test_simulate_takes_the_size_positionally():
    pd.testing.assert_frame_equal(mh.simulate("global", 40, random_state=2), mh.simulate("global", n=40,
                                                                                         random_state=2))


# --------------------------------------------------------------------------- alpha
@pytest.mark.parametrize("name", ["MediationResults", "ParallelMediationResults", "CateResults", "CrtResults",
                                  "DynamicMediationResults", "BootstrapResults"])
def test_summary_and_to_frame_take_alpha(objects, name):
    obj = objects[name]
    default, wider = obj.to_frame(), obj.to_frame(alpha=0.01)
    pd.testing.assert_series_equal(default["estimate"], wider["estimate"])
    ok = np.isfinite(default["ci_lower"].to_numpy(dtype=float))
    assert (wider["ci_lower"].to_numpy(dtype=float)[ok] <= default["ci_lower"].to_numpy(dtype=float)[ok]).all()
    assert obj.summary(alpha=0.01).alpha == 0.01
    pd.testing.assert_frame_equal(obj.to_frame(alpha=obj.alpha), default)


def test_cate_subgroups_alpha_defaults_to_the_fits():
    assert inspect.signature(mh.CateResults.subgroups).parameters["alpha"].default is None


# --------------------------------------------------------------------------- Summary without effects
def _tables_only(**kwargs):
    table = pd.DataFrame({"wald": [3.2, 0.4], "p": [0.0002, 0.52]}, index=["ACME", "ADE"])
    other = pd.DataFrame({"n": [10, 20]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]))
    return Summary(title="Omnibus", models=(StatsTable("Tests", table, p_columns=("p",)), StatsTable("Sizes", other)),
                   footer=(("Seed", "3"),), notes=("a note",), **kwargs)


def test_summary_without_effects_renders_every_format():
    s = _tables_only()
    assert not s.has_effects
    text = s.as_text()
    assert text.splitlines()[:4] == ["", "Omnibus", "", "Seed: 3"]
    assert "Sample Size Used" not in text and "Confidence Intervals" not in text
    assert "ACME  3.2 <0.001" in text and "a, 1" in text and "[1] a note" in text
    assert "Sample Size Used: 50" in _tables_only(n_obs=50).as_text()
    assert r"\begin{tabular}{lrr}" in s.as_latex() and r"\begin{tabular}{lr}" in s.as_latex()
    assert "<strong>Tests</strong>" in s.as_html() and "### Sizes" in s.as_markdown()


def test_summary_without_effects_to_frame():
    s = _tables_only()
    pd.testing.assert_frame_equal(s.to_frame(), s.to_frame(table=0))
    assert s.to_frame().loc["ACME", "p"] == 0.0002        # raw numbers, not the printed "<0.001"
    assert list(s.to_frame(table="Sizes")["n"]) == [10.0, 20.0]
    frame = s.to_frame()
    frame.loc["ACME", "wald"] = 0.0
    assert s.to_frame().loc["ACME", "wald"] == 3.2


@pytest.mark.parametrize("kwargs, parameter", [({"table": "effects"}, "table"), ({"table": 7}, "table"),
                                               ({"table": "nope"}, "table"), ({"style": "r"}, "style")])
def test_summary_without_effects_to_frame_errors(kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        _tables_only().to_frame(**kwargs)
    assert err.value.parameter == parameter
    assert isinstance(err.value, MediationHTEError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize("kwargs, parameter", [({"method": "ate"}, "method"), ({"short_form": True}, "short_form")])
def test_summary_without_effects_rejects_effect_options(kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        _tables_only(**kwargs)
    assert err.value.parameter == parameter


def test_summary_needs_effects_or_a_table():
    with pytest.raises(ParameterError, match="models") as err:
        Summary(title="empty")
    assert err.value.parameter == "models"
    with pytest.raises(ParameterError, match="method"):
        Summary(pd.DataFrame({"estimate": [1.0], "std_error": [0.1], "ci_lower": [0.8], "ci_upper": [1.2],
                              "p_value": [0.01]}, index=["total"]))


def test_stats_table_rejects_text_cells():
    with pytest.raises(ParameterError) as err:
        StatsTable("bad", pd.DataFrame({"x": ["a"]}))
    assert err.value.parameter == "table"
    with pytest.raises(ParameterError) as err:
        StatsTable("bad", pd.DataFrame({"x": [1.0]}), p_columns=("y",))
    assert err.value.parameter == "p_columns"


def test_summary_of_effects_can_return_a_model_table(objects):
    s = objects["MediationResults"].summary()
    coefficients = s.to_frame(table=1)
    assert "job_seek" in coefficients.index and list(coefficients.columns)[0] == "estimate"
    pd.testing.assert_frame_equal(s.to_frame(), s.to_frame(table="effects"))


def test_sensitivity_summary_keeps_the_numbers_and_str_keeps_r_layout(objects):
    sens = objects["SensitivityResults"]
    crossings = sens.summary().to_frame()
    assert crossings.loc["ACME", "Rho (exact)"] == sens.crossings.loc["acme_average", "rho_zero"]
    assert crossings.loc["ACME", "Rho (grid)"] == sens.crossings.loc["acme_average", "rho_zero_grid"]
    assert str(sens).lstrip().startswith("Mediation Sensitivity Analysis for Average Causal Mediation Effect")


@pytest.mark.parametrize("module", ["mediationhte.report.stats_table", "mediationhte.subgroups.results",
                                    "mediationhte.cate.uplift", "mediationhte.cate.refute"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
