"""Input checks of mediate(): one test per data/parameter error path, missing rows, and input immutability.

Every error test asserts the exact class, that the message names the column or parameter,
and the ``.column``/``.role`` (DataError) or ``.parameter`` (ParameterError) attribute.
"""

import copy

import numpy as np
import pandas as pd
import pytest

from mediationhte import load_jobs, mediate
from mediationhte.errors import (
    AssumptionWarning,
    DataError,
    DroppedRowsWarning,
    FormulaError,
    MediationHTEError,
    ParameterError,
)
from mediationhte.core.validation import suggest_columns

OUT = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MED = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def jobs():
    return load_jobs()


@pytest.fixture
def toy():
    """60 rows, binary t, Gaussian m and y, two covariates."""
    rng = np.random.default_rng(3)
    n = 60
    t = np.tile([0, 1], n // 2)
    x1 = rng.normal(size=n)
    m = 0.5 * t + x1 + rng.normal(size=n)
    y = 0.3 * t + 0.7 * m + rng.normal(size=n)
    return pd.DataFrame({"t": t, "m": m, "y": y, "x1": x1, "x2": rng.normal(size=n)})


def _mediate(outcome_formula, mediator_formula, data, **kwargs):
    kwargs.setdefault("sims", 20)
    kwargs.setdefault("random_state", 1)
    return mediate(outcome_formula, mediator_formula, data, **kwargs)


def test_errors_are_value_errors():
    for cls in (DataError, FormulaError, ParameterError):
        assert issubclass(cls, MediationHTEError) and issubclass(cls, ValueError)


# --------------------------------------------------------------------------------------------
# Treatment contrast
# --------------------------------------------------------------------------------------------

def test_non_binary_treatment_without_contrast_values(toy):
    data = toy.assign(t=np.tile([0, 1, 2], 20))
    with pytest.raises(DataError, match=r"Column 't' \(treatment\) must be binary 0/1; found 3 distinct values: "
                                        r"0, 1, 2\. .*treat_value= and control_value=") as exc:
        _mediate("y ~ t + m", "m ~ t", data)
    assert (exc.value.column, exc.value.role) == ("t", "treatment")


def test_categorical_treatment_with_three_levels_without_contrast_values(jobs):
    data = jobs.assign(arm=pd.Categorical(np.resize(["a", "b", "c"], len(jobs))))
    with pytest.raises(DataError, match=r"Column 'arm' \(treatment\) must have two levels; found 3: 'a', 'b', 'c'\. "
                                        r"Pass treat_value= and control_value=") as exc:
        _mediate("depress2 ~ arm + job_seek", "job_seek ~ arm", data)
    assert (exc.value.column, exc.value.role) == ("arm", "treatment")


@pytest.mark.parametrize("given, missing", [("treat_value", "control_value"), ("control_value", "treat_value")])
def test_only_one_contrast_value(toy, given, missing):
    data = toy.assign(t=np.tile([0, 1, 2], 20))
    with pytest.raises(ParameterError, match=rf"Parameter {missing} is required when {given} is given "
                                             r"\(treatment column 't'\)") as exc:
        _mediate("y ~ t + m", "m ~ t", data, **{given: 2})
    assert exc.value.parameter == missing


def test_only_one_contrast_value_for_a_categorical_treatment(jobs):
    data = jobs.assign(arm=pd.Categorical(np.resize(["a", "b", "c"], len(jobs))))
    with pytest.raises(ParameterError, match=r"Parameter control_value is required when treat_value is given") as exc:
        _mediate("depress2 ~ arm + job_seek", "job_seek ~ arm", data, treat_value="b")
    assert exc.value.parameter == "control_value"


def test_contrast_value_not_a_level_of_categorical_treatment(jobs):
    data = jobs.assign(arm=pd.Categorical(np.resize(["a", "b", "c"], len(jobs))))
    with pytest.raises(ParameterError, match=r"Parameter treat_value='z' is not a level of the treatment column "
                                             r"'arm'; levels are 'a', 'b', 'c'") as exc:
        _mediate("depress2 ~ arm + job_seek", "job_seek ~ arm", data, treat_value="z", control_value="a")
    assert exc.value.parameter == "treat_value"


def test_equal_contrast_values(toy):
    with pytest.raises(ParameterError, match=r"treat_value and control_value must differ \(treatment column 't'\)") as exc:
        _mediate("y ~ t + m", "m ~ t", toy, treat_value=1, control_value=1)
    assert exc.value.parameter == "treat_value"


def test_non_numeric_contrast_value_for_numeric_treatment(toy):
    with pytest.raises(ParameterError, match=r"Parameter treat_value must be a number for the numeric treatment "
                                             r"column 't'") as exc:
        _mediate("y ~ t + m", "m ~ t", toy, treat_value="high", control_value=0)
    assert exc.value.parameter == "treat_value"


def test_empty_arm_of_categorical_treatment(jobs):
    # Three categories, but no row has level "c".
    data = jobs.assign(arm=pd.Categorical(np.resize(["a", "b"], len(jobs)), categories=["a", "b", "c"]))
    with pytest.raises(DataError, match=r"Column 'arm' \(treatment\) has no rows in the treated arm \('c'\)") as exc:
        _mediate("depress2 ~ arm + job_seek", "job_seek ~ arm", data, treat_value="c", control_value="a")
    assert (exc.value.column, exc.value.role) == ("arm", "treatment")


def test_unused_category_is_pointed_out(jobs):
    data = jobs.assign(arm=pd.Categorical(np.resize(["a", "b"], len(jobs)), categories=["a", "b", "c"]))
    with pytest.raises(DataError, match=r"'c' has no rows; remove with \.cat\.remove_unused_categories\(\)") as exc:
        _mediate("depress2 ~ arm + job_seek", "job_seek ~ arm", data)
    assert exc.value.column == "arm"


def test_treatment_constant_after_missing_rows_are_dropped(jobs):
    data = jobs.copy()
    data.loc[data["treat"] == 0, "econ_hard"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"'econ_hard'"):
        with pytest.raises(DataError, match=r"Column 'treat' \(treatment\) takes a single value \(1\) in the rows "
                                            r"used") as exc:
            _mediate(OUT, MED, data)
    assert (exc.value.column, exc.value.role) == ("treat", "treatment")


def test_treatment_with_no_rows_is_a_data_error():
    from mediationhte.core.validation import resolve_treatment
    with pytest.raises(DataError, match=r"Column 'treat' \(treatment\) has no rows in the rows used") as exc:
        resolve_treatment(pd.Series([], name="treat", dtype="int64"), None, None)
    assert (exc.value.column, exc.value.role) == ("treat", "treatment")


# --------------------------------------------------------------------------------------------
# Mediator and outcome columns
# --------------------------------------------------------------------------------------------

def test_constant_mediator(toy):
    with pytest.raises(DataError, match=r"Column 'm' \(mediator\) is constant \(1\.5\) in the rows used") as exc:
        _mediate("y ~ t + m", "m ~ t", toy.assign(m=1.5))
    assert (exc.value.column, exc.value.role) == ("m", "mediator")


def test_constant_outcome(toy):
    with pytest.raises(DataError, match=r"Column 'y' \(outcome\) is constant") as exc:
        _mediate("y ~ t + m", "m ~ t", toy.assign(y=0.0))
    assert (exc.value.column, exc.value.role) == ("y", "outcome")


def test_string_outcome_for_gaussian_model(toy):
    data = toy.assign(y=np.where(toy["y"] > 0, "high", "low"))
    with pytest.raises(DataError, match=r"Column 'y' \(outcome\) must be numeric for a gaussian outcome model") as exc:
        _mediate("y ~ t + m", "m ~ t", data)
    assert (exc.value.column, exc.value.role) == ("y", "outcome")


def test_non_binary_outcome_with_logit(jobs):
    with pytest.raises(DataError, match=r"Column 'depress2' \(outcome\) must be binary 0/1 for a logit outcome "
                                        r"model; found 50 distinct values") as exc:
        _mediate(OUT, MED, jobs, outcome_family="logit")
    assert (exc.value.column, exc.value.role) == ("depress2", "outcome")


def test_non_binary_mediator_with_probit(jobs):
    with pytest.raises(DataError, match=r"Column 'job_seek' \(mediator\) must be binary 0/1 for a probit mediator "
                                        r"model.*mediator_family='gaussian'") as exc:
        _mediate(OUT, MED, jobs, mediator_family="probit")
    assert (exc.value.column, exc.value.role) == ("job_seek", "mediator")


# --------------------------------------------------------------------------------------------
# Design matrices and values
# --------------------------------------------------------------------------------------------

def test_singular_design_names_the_aliased_term(toy):
    data = toy.assign(x2=2 * toy["x1"])
    with pytest.raises(DataError, match=r"The mediator model's design is singular: 'x2' is a linear combination") as exc:
        _mediate("y ~ t + m + x1 + x2", "m ~ t + x1 + x2", data)
    assert (exc.value.column, exc.value.role) == ("x2", "mediator")


def test_singular_outcome_design(toy):
    data = toy.assign(x2=toy["x1"] - toy["m"])
    with pytest.raises(DataError, match=r"The outcome model's design is singular: 'x2'") as exc:
        _mediate("y ~ t + m + x1 + x2", "m ~ t + x1", data)
    assert (exc.value.column, exc.value.role) == ("x2", "outcome")


@pytest.mark.parametrize("column, role", [("x1", "covariate"), ("y", "outcome"), ("m", "mediator")])
def test_infinite_values_name_column_and_role(toy, column, role):
    data = toy.copy()
    data.loc[7, column] = -np.inf
    with pytest.raises(DataError, match=rf"Column '{column}' \({role}\) has 1 infinite value \(first at row 7\)") as exc:
        _mediate("y ~ t + m + x1", "m ~ t + x1", data)
    assert (exc.value.column, exc.value.role) == (column, role)


def test_fewer_rows_than_parameters(toy):
    with pytest.raises(DataError, match=r"The mediator model has 4 parameters but only 4 rows") as exc:
        _mediate("y ~ t + m + x1 + x2", "m ~ t + x1 + x2", toy.iloc[:4])
    assert exc.value.role == "mediator"


def test_fewer_rows_than_parameters_in_the_outcome_model(toy):
    with pytest.raises(DataError, match=r"The outcome model has 5 parameters but only 5 rows") as exc:
        _mediate("y ~ t + m + x1 + x2", "m ~ t + x1 + x2", toy.iloc[:5])
    assert exc.value.role == "outcome"


def test_no_rows(toy):
    with pytest.raises(DataError, match=r"Parameter data has no rows"):
        _mediate("y ~ t + m", "m ~ t", toy.iloc[:0])


def test_duplicated_column_names(toy):
    data = pd.concat([toy, toy[["x1"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicated column names \['x1'\]") as exc:
        _mediate("y ~ t + m", "m ~ t", data)
    assert exc.value.column == "x1"


def test_every_row_incomplete(toy):
    with pytest.raises(DataError, match=r"Every row has a missing value in at least one of 'x1'") as exc:
        _mediate("y ~ t + m + x1", "m ~ t + x1", toy.assign(x1=np.nan))
    assert exc.value.column == "x1"


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

PARAMETER_CASES = [
    ({"outcome_family": "poisson"}, "outcome_family", r"Parameter outcome_family must be one of 'gaussian', "
                                                      r"'logit', 'probit'; got 'poisson'"),
    ({"mediator_family": "Logit"}, "mediator_family", r"Parameter mediator_family must be one of .*got 'Logit'"),
    ({"cov_type": "HC4"}, "cov_type", r"Parameter cov_type must be one of .*'HC3', 'cluster'; got 'HC4'"),
    ({"point": "mean"}, "point", r"Parameter point must be one of 'original', 'mean_of_draws'; got 'mean'"),
    ({"sims": 0}, "sims", r"Parameter sims must be an integer >= 2; got 0"),
    ({"sims": 20.0}, "sims", r"Parameter sims must be an integer >= 2; got 20\.0"),
    ({"alpha": 1.5}, "alpha", r"Parameter alpha must be a number strictly between 0 and 1 .*got 1\.5"),
    ({"alpha": 0}, "alpha", r"Parameter alpha must be a number strictly between 0 and 1"),
    ({"random_state": "abc"}, "random_state", r"Parameter random_state must be None, a non-negative integer or a "
                                              r"numpy\.random\.Generator; got str 'abc'"),
    ({"random_state": -1}, "random_state", r"Parameter random_state must be a non-negative integer"),
    ({"cov_type": "cluster"}, "cluster", r"Parameter cluster is required with cov_type='cluster'"),
    ({"cluster": "occp"}, "cluster", r"Parameter cluster is only used with cov_type='cluster'"),
    ({"cov_type": "cluster", "cluster": [1, 2, 3]}, "cluster", r"Parameter cluster must have one id per row of "
                                                              r"data \(899\); got shape \(3,\)"),
    ({"covariates": {"occp": "clerical/kindred"}}, "covariates", r"Parameter covariates names 'occp', which is not "
                                                                 r"a pre-treatment covariate .*'econ_hard', 'sex', "
                                                                 r"'age'"),
    ({"covariates": {"treat": 1}}, "covariates", r"Parameter covariates names 'treat'"),
    ({"covariates": ["sex"]}, "covariates", r"Parameter covariates must be a non-empty dict"),
    ({"covariates": {}}, "covariates", r"Parameter covariates must be a non-empty dict"),
]


@pytest.mark.parametrize("kwargs, parameter, message", PARAMETER_CASES,
                         ids=[f"{c[1]}={list(c[0].values())[-1]!r}" for c in PARAMETER_CASES])
def test_parameter_errors(jobs, kwargs, parameter, message):
    with pytest.raises(ParameterError, match=message) as exc:
        _mediate(OUT, MED, jobs, **kwargs)
    assert exc.value.parameter == parameter


def test_covariates_with_an_unknown_level(jobs):
    with pytest.raises(ParameterError, match=r"Parameter covariates sets 'occp' to 'astronaut', which is not one of "
                                             r"its levels \('professionals'") as exc:
        _mediate("depress2 ~ treat + job_seek + occp", "job_seek ~ treat + occp", jobs,
                 covariates={"occp": "astronaut"})
    assert exc.value.parameter == "covariates"


def test_cluster_column_missing_suggests_close_match(jobs):
    with pytest.raises(DataError, match=r"Column 'ocp' \(cluster, from parameter cluster\).*Did you mean "
                                        r"'occp'\?") as exc:
        _mediate(OUT, MED, jobs, cov_type="cluster", cluster="ocp")
    assert (exc.value.column, exc.value.role) == ("ocp", "cluster")


@pytest.mark.parametrize("data", [None, "jobs.csv", np.zeros((10, 3))], ids=["None", "str", "ndarray"])
def test_data_not_a_dataframe(data):
    with pytest.raises(ParameterError, match=r"Parameter data must be a pandas DataFrame; got ") as exc:
        _mediate(OUT, MED, data)
    assert exc.value.parameter == "data"


def test_data_as_dict_is_rejected(jobs):
    with pytest.raises(ParameterError, match=r"Parameter data must be a pandas DataFrame; got dict") as exc:
        _mediate(OUT, MED, jobs.to_dict("list"))
    assert exc.value.parameter == "data"


# --------------------------------------------------------------------------------------------
# Missing values: dropped from both models, with a warning
# --------------------------------------------------------------------------------------------

def test_rows_with_missing_values_are_dropped_for_both_models(jobs):
    data = jobs.copy()
    data.loc[[3, 10], "econ_hard"] = np.nan  # used by the mediator model only
    data.loc[20, "depress2"] = np.nan  # used by the outcome model only
    data.loc[[30, 31], "depress1"] = np.nan  # used by neither: those rows stay
    with pytest.warns(DroppedRowsWarning, match=r"3 rows with missing values in 'depress2', 'econ_hard' were "
                                                r"dropped") as record:
        fit = _mediate("depress2 ~ treat + job_seek + econ_hard + sex", "job_seek ~ treat + econ_hard + sex", data)
    assert len(record) == 1
    assert record[0].filename == __file__  # stacklevel points at the caller
    assert list(fit.dropped_index) == [3, 10, 20]
    assert fit.n_obs == len(jobs) - 3
    assert fit.mediator_model.n_obs == fit.outcome_model.n_obs == len(jobs) - 3
    assert not fit.rows_used.isin([3, 10, 20]).any()
    assert {30, 31} <= set(fit.rows_used)


def test_one_dropped_row_is_singular_in_the_message(toy):
    data = toy.copy()
    data.loc[4, "x1"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"^1 row with missing values in 'x1' was dropped"):
        fit = _mediate("y ~ t + m + x1", "m ~ t + x1", data)
    assert list(fit.dropped_index) == [4]
    assert fit.n_obs == len(toy) - 1


def test_missing_cluster_ids_drop_rows(toy):
    data = toy.assign(g=np.repeat(np.arange(12.0), 5))
    data.loc[[0, 1], "g"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"2 rows with missing values in '__cluster__'"):
        fit = _mediate("y ~ t + m + x1", "m ~ t + x1", data, cov_type="cluster", cluster="g")
    assert list(fit.dropped_index) == [0, 1]
    assert fit.n_obs == len(toy) - 2


def test_nullable_dtypes_are_accepted(jobs):
    ref = _mediate(OUT, MED, jobs)
    data = jobs.assign(treat=jobs["treat"].astype("boolean"), sex=jobs["sex"].astype("Int64"),
                       job_seek=jobs["job_seek"].astype("Float64"))
    fit = _mediate(OUT, MED, data)
    assert fit.estimates["acme_average"] == pytest.approx(ref.estimates["acme_average"], abs=1e-12)
    assert fit.settings["treat_value"] is True


def test_nullable_dtypes_with_missing_values(jobs):
    data = jobs.assign(treat=jobs["treat"].astype("Int64"))
    data.loc[[0, 1], "treat"] = pd.NA
    with pytest.warns(DroppedRowsWarning, match=r"2 rows with missing values in 'treat'"):
        fit = _mediate(OUT, MED, data)
    assert fit.n_obs == len(jobs) - 2


# --------------------------------------------------------------------------------------------
# The input is never modified
# --------------------------------------------------------------------------------------------

def test_input_dataframe_is_unchanged(jobs):
    data = jobs.copy()
    data.loc[[2, 5], "econ_hard"] = np.nan
    data["treat"] = data["treat"].astype("Int64")
    data["arm"] = pd.Categorical(np.where(jobs["treat"] == 1, "treated", "control"), categories=["control", "treated"])
    before = copy.deepcopy(data)
    columns_before = data.columns.copy()
    with pytest.warns(DroppedRowsWarning, match=r"2 rows"):
        _mediate("depress2 ~ arm + job_seek + econ_hard + center(age) + C(occp)",
                 "job_seek ~ arm + econ_hard + center(age) + C(occp)", data,
                 cov_type="cluster", cluster="marital", covariates={"occp": "clerical/kindred"})
    pd.testing.assert_frame_equal(data, before, check_dtype=True, check_categorical=True, check_exact=True)
    pd.testing.assert_index_equal(data.columns, columns_before)
    assert data.dtypes.equals(before.dtypes)


def test_assumption_warning_for_covariate_missing_from_outcome_formula(toy):
    with pytest.warns(AssumptionWarning, match=r"Covariates 'x2' are in mediator_formula but not in "
                                               r"outcome_formula") as record:
        _mediate("y ~ t + m + x1", "m ~ t + x1 + x2", toy)
    assert record[0].filename == __file__


# --------------------------------------------------------------------------------------------
# Suggestions
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("job_sek", ["job_seek"]),
    ("depres2", ["depress2"]),
    ("TREAT", ["treat"]),
    ("econhard", ["econ_hard"]),
    ("zzz", []),
])
def test_suggest_columns(jobs, name, expected):
    assert suggest_columns(name, jobs.columns) == expected
