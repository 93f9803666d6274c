"""Formula roles and formula features: one test per formula error path, plus what must keep working.

Error tests assert the exact class and that the message names the column; DataErrors also
carry ``.column`` and ``.role``.
"""

import numpy as np
import pandas as pd
import patsy
import pytest

from mediationhte import load_jobs, mediate
from mediationhte.errors import AssumptionWarning, DataError, FormulaError, ParameterError
from mediationhte.formula.parse import build_spec, has_interaction, parse_roles

OUT = "depress2 ~ treat + job_seek + econ_hard + sex + age"
MED = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def jobs():
    return load_jobs()


def _mediate(outcome_formula, mediator_formula, data, **kwargs):
    kwargs.setdefault("sims", 20)
    kwargs.setdefault("random_state", 1)
    return mediate(outcome_formula, mediator_formula, data, **kwargs)


def sq(x):
    """A user function for formulas: patsy must find it in the calling module."""
    return np.asarray(x) ** 2


# --------------------------------------------------------------------------------------------
# Missing columns, with close-match suggestions
# --------------------------------------------------------------------------------------------

def test_missing_column_in_outcome_formula_suggests_close_match(jobs):
    with pytest.raises(DataError, match=r"Column 'job_sek' \(in outcome_formula\) is not in data\. "
                                        r"Did you mean 'job_seek'\?$") as exc:
        _mediate("depress2 ~ treat + job_sek + econ_hard", "job_seek ~ treat + econ_hard", jobs)
    assert exc.value.column == "job_sek"
    assert exc.value.role is None


def test_missing_column_in_mediator_formula_suggests_close_match(jobs):
    with pytest.raises(DataError, match=r"Column 'econ_hrd' \(in mediator_formula\) .*Did you mean 'econ_hard'\?") as exc:
        _mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hrd", jobs)
    assert exc.value.column == "econ_hrd"


def test_missing_mediator_on_left_hand_side_has_mediator_role(jobs):
    with pytest.raises(DataError, match=r"Column 'job_sek' \(mediator, in mediator_formula\).*'job_seek'") as exc:
        _mediate("depress2 ~ treat + job_seek", "job_sek ~ treat", jobs)
    assert (exc.value.column, exc.value.role) == ("job_sek", "mediator")


def test_missing_outcome_on_left_hand_side_has_outcome_role(jobs):
    with pytest.raises(DataError, match=r"Column 'depres2' \(outcome, in outcome_formula\).*Did you mean 'depress2'\?") as exc:
        _mediate("depres2 ~ treat + job_seek", "job_seek ~ treat", jobs)
    assert (exc.value.column, exc.value.role) == ("depres2", "outcome")


def test_missing_treatment_parameter_suggests_close_match(jobs):
    with pytest.raises(DataError, match=r"Column 'job_sek' \(treatment, from parameter treatment\).*"
                                        r"Did you mean 'job_seek'\?") as exc:
        _mediate(OUT, MED, jobs, treatment="job_sek")
    assert (exc.value.column, exc.value.role) == ("job_sek", "treatment")


def test_missing_column_wrong_case_suggests_the_column(jobs):
    with pytest.raises(DataError, match=r"'Treat' .*Did you mean 'treat'\?") as exc:
        _mediate(OUT, MED, jobs, treatment="Treat")
    assert exc.value.column == "Treat"


def test_missing_column_without_close_match_lists_columns(jobs):
    with pytest.raises(DataError, match=r"Column 'zzz' \(in outcome_formula\) is not in data\. Check the spelling; "
                                        r"data has columns 'treat', 'econ_hard'") as exc:
        _mediate("depress2 ~ treat + job_seek + zzz", "job_seek ~ treat", jobs)
    assert exc.value.column == "zzz"


def test_missing_column_inside_Q_suggests_close_match(jobs):
    with pytest.raises(DataError, match=r"Column 'econ_hrd' \(in outcome_formula\).*Did you mean 'econ_hard'\?") as exc:
        _mediate("depress2 ~ treat + job_seek + Q('econ_hrd')", "job_seek ~ treat", jobs)
    assert exc.value.column == "econ_hrd"


def test_missing_column_inside_a_transform(jobs):
    with pytest.raises(DataError, match=r"Column 'ag' \(in mediator_formula\).*Did you mean 'age'\?") as exc:
        _mediate("depress2 ~ treat + job_seek + np.log(age)", "job_seek ~ treat + np.log(ag)", jobs)
    assert exc.value.column == "ag"


def test_undefined_function_is_a_formula_error(jobs):
    with pytest.raises(FormulaError, match=r"Function 'log' in outcome_formula .*np\.log"):
        _mediate("depress2 ~ treat + job_seek + log(age)", "job_seek ~ treat", jobs)


# --------------------------------------------------------------------------------------------
# Roles: treatment, mediator, outcome
# --------------------------------------------------------------------------------------------

def test_treatment_missing_from_mediator_formula(jobs):
    with pytest.raises(FormulaError, match=r"treatment 'treat' is missing from the right-hand side of "
                                           r"mediator_formula .*'job_seek ~ treat \+ \.\.\.'"):
        _mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ econ_hard", jobs, treatment="treat")


def test_treatment_missing_from_outcome_formula(jobs):
    with pytest.raises(FormulaError, match=r"treatment 'treat' is missing from the right-hand side of "
                                           r"outcome_formula .*'depress2 ~ treat \+ job_seek \+ \.\.\.'"):
        _mediate("depress2 ~ job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs)


def test_mediator_not_on_outcome_right_hand_side(jobs):
    with pytest.raises(FormulaError, match=r"mediator 'job_seek' .*is not on the right-hand side of outcome_formula"):
        _mediate("depress2 ~ treat + econ_hard", "job_seek ~ treat + econ_hard", jobs)


def test_outcome_on_outcome_right_hand_side(jobs):
    with pytest.raises(FormulaError, match=r"outcome 'depress2' appears on the right-hand side of outcome_formula"):
        _mediate("depress2 ~ treat + job_seek + depress2", "job_seek ~ treat", jobs)


def test_outcome_on_mediator_right_hand_side(jobs):
    with pytest.raises(FormulaError, match=r"outcome 'depress2' appears on the right-hand side of mediator_formula"):
        _mediate("depress2 ~ treat + job_seek", "job_seek ~ treat + depress2", jobs)


def test_mediator_on_both_sides_of_mediator_formula(jobs):
    with pytest.raises(FormulaError, match=r"mediator 'job_seek' appears on both sides of mediator_formula"):
        _mediate("depress2 ~ treat + job_seek", "job_seek ~ treat + job_seek", jobs)


def test_outcome_and_mediator_the_same_column(jobs):
    with pytest.raises(FormulaError, match=r"outcome and the mediator are the same column \('job_seek'\)"):
        _mediate("job_seek ~ treat + job_seek", "job_seek ~ treat", jobs)


@pytest.mark.parametrize("treatment, role", [("job_seek", "mediator"), ("depress2", "outcome")])
def test_treatment_parameter_naming_another_role(jobs, treatment, role):
    with pytest.raises(FormulaError, match=rf"Parameter treatment='{treatment}' names the {role}"):
        _mediate("depress2 ~ treat + job_seek", "job_seek ~ treat", jobs, treatment=treatment)


def test_treatment_parameter_not_a_string(jobs):
    with pytest.raises(ParameterError, match=r"Parameter treatment must be a column name") as exc:
        _mediate(OUT, MED, jobs, treatment=3)
    assert exc.value.parameter == "treatment"


def test_mediator_formula_without_right_hand_variable(jobs):
    with pytest.raises(FormulaError, match=r"mediator_formula .*has no right-hand variable"):
        _mediate("depress2 ~ treat + job_seek", "job_seek ~ 1", jobs)


def test_transformed_mediator_is_rejected(jobs):
    with pytest.raises(FormulaError, match=r"left-hand side of mediator_formula must be a data column.*np\.log"):
        _mediate("depress2 ~ treat + job_seek", "np.log(job_seek) ~ treat", jobs)


@pytest.mark.parametrize("formula", ["~ treat + job_seek", "depress2 + depress1 ~ treat + job_seek"])
def test_outcome_formula_needs_one_left_hand_variable(jobs, formula):
    with pytest.raises(FormulaError, match=r"outcome_formula needs exactly one variable on its left-hand side"):
        _mediate(formula, "job_seek ~ treat", jobs)


@pytest.mark.parametrize("which", ["outcome_formula", "mediator_formula"])
def test_formula_without_tilde(jobs, which):
    formulas = {"outcome_formula": OUT, "mediator_formula": MED}
    formulas[which] = "job_seek treat"
    with pytest.raises(FormulaError, match=rf"Parameter {which} must be a formula string"):
        _mediate(formulas["outcome_formula"], formulas["mediator_formula"], jobs)


def test_formula_not_a_string(jobs):
    with pytest.raises(FormulaError, match=r"Parameter mediator_formula must be a formula string.*got None"):
        _mediate(OUT, None, jobs)


def test_formula_that_does_not_parse(jobs):
    with pytest.raises(FormulaError, match=r"Parameter outcome_formula could not be parsed"):
        _mediate("depress2 ~ treat + (job_seek", MED, jobs)


# --------------------------------------------------------------------------------------------
# Defaults and formula features that must work
# --------------------------------------------------------------------------------------------

def test_treatment_defaults_to_first_right_hand_variable_of_mediator_formula(jobs):
    fit = _mediate(OUT, MED, jobs)
    assert fit.settings["treatment"] == "treat"
    # Reordered: the first right-hand variable (sex, also 0/1) becomes the treatment.
    fit = _mediate("depress2 ~ sex + treat + job_seek", "job_seek ~ sex + treat", jobs)
    assert fit.settings["treatment"] == "sex"
    explicit = _mediate("depress2 ~ sex + treat + job_seek", "job_seek ~ sex + treat", jobs, treatment="treat")
    assert explicit.settings["treatment"] == "treat"


def test_default_treatment_seen_through_C(jobs):
    roles = parse_roles("depress2 ~ C(treat) + job_seek", "job_seek ~ C(treat) + econ_hard", jobs, None)
    assert (roles.outcome, roles.mediator, roles.treatment) == ("depress2", "job_seek", "treat")
    assert roles.covariates == ("econ_hard",)


FEATURES = {
    "C()": ("depress2 ~ C(treat) + job_seek + econ_hard + C(occp)", "job_seek ~ C(treat) + econ_hard + C(occp)"),
    "I()": ("depress2 ~ treat + job_seek + age + I(age**2)", "job_seek ~ treat + age + I(age**2)"),
    "np.log()": ("np.log(depress2) ~ treat + job_seek + np.log(age)", "job_seek ~ treat + np.log(age)"),
    "center()": ("depress2 ~ treat + job_seek + center(age)", "job_seek ~ treat + center(age)"),
    "treat:job_seek": ("depress2 ~ treat + job_seek + treat:job_seek + sex", "job_seek ~ treat + sex"),
    "treat*sex": ("depress2 ~ treat*sex + job_seek + econ_hard", "job_seek ~ treat*sex + econ_hard"),
    "C(treat)*job_seek": ("depress2 ~ C(treat)*job_seek + C(marital)", "job_seek ~ C(treat) + C(marital)"),
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_formula_features_fit(jobs, feature):
    outcome_formula, mediator_formula = FEATURES[feature]
    fit = _mediate(outcome_formula, mediator_formula, jobs)
    assert fit.settings["treatment"] == "treat"
    assert fit.n_obs == len(jobs)
    assert np.isfinite(fit.estimates["acme_average"])
    assert np.isfinite(fit.estimates["ade_average"])


def test_centring_does_not_change_the_acme(jobs):
    centred = _mediate("depress2 ~ treat + job_seek + center(age)", "job_seek ~ treat + center(age)", jobs)
    plain = _mediate("depress2 ~ treat + job_seek + age", "job_seek ~ treat + age", jobs)
    assert centred.estimates["acme_average"] == pytest.approx(plain.estimates["acme_average"], abs=1e-10)
    assert centred.estimates["ade_average"] == pytest.approx(plain.estimates["ade_average"], abs=1e-10)


def test_C_treat_gives_the_same_acme_as_numeric_treat(jobs):
    coded = _mediate("depress2 ~ C(treat) + job_seek + econ_hard", "job_seek ~ C(treat) + econ_hard", jobs)
    plain = _mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs)
    assert coded.estimates["acme_average"] == pytest.approx(plain.estimates["acme_average"], abs=1e-10)


def test_user_function_from_the_calling_module(jobs):
    fit = _mediate("depress2 ~ treat + job_seek + sq(age)", "job_seek ~ treat + sq(age)", jobs)
    ref = _mediate("depress2 ~ treat + job_seek + I(age**2)", "job_seek ~ treat + I(age**2)", jobs)
    assert fit.estimates["acme_average"] == pytest.approx(ref.estimates["acme_average"], abs=1e-10)


def test_local_variables_of_the_caller_are_visible(jobs):
    # Neither `scale_by` nor `cube` is a column: they are locals of this function, as patsy allows.
    scale_by = 2.0  # noqa: F841 - read by patsy through the caller namespace

    def cube(x):
        return np.asarray(x) ** 3

    fit = mediate("depress2 ~ treat + job_seek + I(age * scale_by) + cube(econ_hard)",
                  "job_seek ~ treat + I(age * scale_by) + cube(econ_hard)", jobs, sims=20, random_state=1)
    assert fit.n_obs == len(jobs)
    assert "I(age * scale_by)" in fit.outcome_model.column_names


def test_sequential_ignorability_warning_names_the_covariate(jobs):
    with pytest.warns(AssumptionWarning, match=r"Covariates 'econ_hard' are in mediator_formula but not in "
                                               r"outcome_formula") as record:
        _mediate("depress2 ~ treat + job_seek + sex", "job_seek ~ treat + econ_hard + sex", jobs)
    assert len(record) == 1


# --------------------------------------------------------------------------------------------
# has_interaction
# --------------------------------------------------------------------------------------------

def _spec(outcome_formula, mediator_formula, data):
    roles = parse_roles(outcome_formula, mediator_formula, data, None)
    spec, _ = build_spec(roles, data.loc[:, list(roles.columns)].dropna(), patsy.EvalEnvironment.capture(0))
    return spec


@pytest.mark.parametrize("outcome_formula, expected", [
    ("depress2 ~ treat + job_seek + treat:job_seek", True),
    ("depress2 ~ treat * job_seek", True),
    ("depress2 ~ treat + job_seek + C(treat):job_seek", True),
    ("depress2 ~ C(treat) * job_seek + econ_hard", True),
    ("depress2 ~ treat + job_seek", False),
    ("depress2 ~ treat + job_seek + treat:econ_hard", False),
    ("depress2 ~ treat * econ_hard + job_seek", False),
])
def test_has_interaction(jobs, outcome_formula, expected):
    spec = _spec(outcome_formula, "job_seek ~ treat + econ_hard", jobs)
    assert has_interaction(spec) is expected


def test_interaction_flag_on_results(jobs):
    assert _mediate("depress2 ~ treat * job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs).interaction
    assert not _mediate("depress2 ~ treat + job_seek + econ_hard", "job_seek ~ treat + econ_hard", jobs).interaction


def test_roles_and_columns_in_first_use_order():
    data = pd.DataFrame({"y": [1.0], "t": [0], "m": [1.0], "x": [0.5], "w": [2.0]})
    roles = parse_roles("y ~ t + m + x", "m ~ t + x + w", data, None)
    assert roles.columns == ("y", "t", "m", "x", "w")
    assert roles.covariates == ("x", "w")
    assert roles.outcome_columns == ("y", "t", "m", "x")
    assert roles.mediator_columns == ("m", "t", "x", "w")


def test_stacked_counterfactual_matrices_equal_one_build_each(jobs):
    # One patsy evaluation of the stacked copies must give exactly what separate builds give, with categorical
    # levels and stateful transforms (center) taken from the stored DesignInfo.
    from mediationhte.formula.parse import counterfactual_matrices

    frame = jobs.assign(treat=pd.Categorical(np.where(jobs.treat == 1, "workshop", "booklet")))
    outcome = "depress2 ~ C(treat) * job_seek + center(age) + occp + np.log(econ_hard)"
    roles = parse_roles(outcome, "job_seek ~ C(treat) + center(age) + occp + np.log(econ_hard)", frame, None)
    spec, _ = build_spec(roles, frame, patsy.EvalEnvironment.capture(0))
    overrides = [{"treat": t, "job_seek": m} for t in ("booklet", "workshop") for m in (1.0, 3.5, 5.0)]
    stacked = counterfactual_matrices(spec.outcome_info, frame, overrides)
    assert len(stacked) == len(overrides)
    for replaced, matrix in zip(overrides, stacked):
        cf = frame.copy()
        cf["treat"] = pd.Categorical([replaced["treat"]] * len(cf), categories=frame.treat.cat.categories)
        cf["job_seek"] = replaced["job_seek"]
        (expected,) = patsy.build_design_matrices([spec.outcome_info], cf)
        np.testing.assert_array_equal(matrix, np.asarray(expected))
    assert stacked[0].shape == (len(frame), len(spec.outcome_terms))
