"""Bundled example data sets.

The CSV files live in the top-level ``data/`` folder of the source tree and are installed as the
package ``mediationhte.data`` (see ``data/README.md`` for source, licence and provenance). They are
always read through :mod:`importlib.resources`, so they work from regular and editable installs.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import pandas as pd

from mediationhte.errors import DataError

__all__ = ["BundledDataError", "JOBS_SHA256", "load_jobs"]

#: SHA-256 of the shipped ``jobs.csv`` (also recorded in ``data/README.md``).
JOBS_SHA256 = "1a7613da8bae296c8eb6261c4ffd81d4416866b2d04dd2e260556eb35ed7ed79"

_DATA_PACKAGE = "mediationhte.data"
_JOBS_FILE = "jobs.csv"

#: Column order of ``jobs.csv`` (the order of R's ``data(jobs)``).
_JOBS_COLUMNS = (
    "treat", "econ_hard", "depress1", "sex", "age", "occp", "marital", "nonwhite", "educ",
    "income", "job_seek", "depress2", "work1", "comply", "control", "job_dich", "job_disc",
)  # fmt: skip

_JOBS_INT_COLUMNS = ("treat", "sex", "comply", "job_dich", "job_disc")

#: Factor levels of R's ``data(jobs)`` (mediation 4.5.1) in R's order; the first is the reference.
_JOBS_LEVELS: dict[str, tuple[str, ...]] = {
    "occp": (
        "professionals",
        "manegerial",  # sic, as in R
        "clerical/kindred",
        "sales workers",
        "craftsmen/foremen/kindred",
        "operatives/kindred wrks",
        "laborers/service wrks",
    ),
    "marital": ("nevmarr", "married", "separtd", "divrcd", "widowed"),
    "nonwhite": ("white0", "non.white1"),
    "educ": ("lt-hs", "highsc", "somcol", "bach", "gradwk"),
    "income": ("lt15k", "15t24k", "25t39k", "40t49k", "50k+"),
    "work1": ("psyump", "psyemp"),
    "control": ("treat", "control"),
}

_REINSTALL = "Reinstall mediationhte (pip install --force-reinstall mediationhte)."


class BundledDataError(DataError):
    """A data file shipped with mediationhte is missing, unreadable or has been modified.

    The installation is broken (for example a wheel built without the ``mediationhte.data``
    package, or an edited ``data/jobs.csv``); reinstalling mediationhte fixes it.
    """


def _read_bundled_bytes(name: str, expected_sha256: str) -> bytes:
    """Return the bytes of a bundled data file after checking its SHA-256.

    Parameters
    ----------
    name : str
        File name inside the ``mediationhte.data`` package.
    expected_sha256 : str
        The recorded hex digest the file must have.

    Returns
    -------
    bytes
        The file's contents.

    Raises
    ------
    BundledDataError
        If the file cannot be found or read, or its SHA-256 differs from ``expected_sha256``.
    """
    try:
        raw = (resources.files(_DATA_PACKAGE) / name).read_bytes()
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise BundledDataError(
            f"The bundled data file '{name}' was not found in the package '{_DATA_PACKAGE}': "
            f"the installation is incomplete. {_REINSTALL}"
        ) from exc
    except OSError as exc:
        raise BundledDataError(
            f"The bundled data file '{name}' in the package '{_DATA_PACKAGE}' could not be read "
            f"({exc}). {_REINSTALL}"
        ) from exc
    found = hashlib.sha256(raw).hexdigest()
    if found != expected_sha256:
        raise BundledDataError(
            f"The bundled data file '{name}' has been modified or corrupted: its SHA-256 is "
            f"{found}, expected {expected_sha256}. {_REINSTALL}"
        )
    return raw


def load_jobs() -> pd.DataFrame:
    """Load the JOBS II job-search intervention data (R ``mediation::jobs``).

    JOBS II is a randomised field experiment on unemployed workers. Those assigned to treatment
    were invited to job-skills workshops (job-search skills and coping with setbacks); the
    control group received a booklet of job-search tips. Depressive symptoms (Hopkins Symptom
    Checklist) and re-employment were measured at follow-up. In the canonical mediation example
    (Tingley et al. 2014) job-search self-efficacy ``job_seek`` is the mediator and
    post-treatment depression ``depress2`` the outcome.

    Size: 899 rows x 17 columns, no missing values; 600 treated and 299 control.

    Returns
    -------
    pandas.DataFrame
        A new frame on every call (editing it never affects later calls), with a default
        ``RangeIndex`` and the columns below in this order. ``treat``, ``sex``, ``comply``,
        ``job_dich`` and ``job_disc`` are ``int64``; ``econ_hard``, ``depress1``, ``age``,
        ``job_seek`` and ``depress2`` are ``float64``; the seven factors are unordered
        ``pandas.Categorical`` with R's levels in R's order, so the first category is R's
        reference level and covariate coefficients match R's.

    Raises
    ------
    BundledDataError
        If ``jobs.csv`` is missing from the installation or its SHA-256 differs from
        :data:`JOBS_SHA256`. It subclasses :class:`~mediationhte.errors.DataError` (and so
        :class:`ValueError`).

    See Also
    --------
    JOBS_SHA256 : The recorded checksum of the shipped ``jobs.csv``.

    Notes
    -----
    **For illustration only.** This is an 899-row complete-case subset of the 1,801 screened
    participants, distributed with the R package to illustrate methods, not for inference about
    programme efficacy; use the original study data for that.

    Columns (factor levels in R's order, reference level first):

    ============ ==================================================================================
    treat        Randomised to the workshop programme (1) or to the control booklet (0).
    econ_hard    Pre-treatment economic hardship, 1 to 5 (in steps of one third).
    depress1     Pre-treatment depressive symptoms.
    sex          1 = female, 0 = male.
    age          Age in years.
    occp         Occupation, 7 levels: professionals, manegerial (sic), clerical/kindred,
                 sales workers, craftsmen/foremen/kindred, operatives/kindred wrks,
                 laborers/service wrks.
    marital      Marital status, 5 levels: nevmarr, married, separtd, divrcd, widowed.
    nonwhite     Race, 2 levels: white0, non.white1 (= nonwhite).
    educ         Educational attainment, 5 levels: lt-hs, highsc, somcol, bach, gradwk.
    income       Income, 5 levels: lt15k, 15t24k, 25t39k, 40t49k, 50k+.
    job_seek     Job-search self-efficacy, 1 to 5; **the mediator**.
    depress2     Post-treatment depressive symptoms; **the outcome**.
    work1        Employed at follow-up, 2 levels: psyump (not employed), psyemp (employed).
                 Recode it to 0/1 before using it as a binary outcome.
    comply       Actually took part in the programme (1) or not (0); post-treatment.
    control      The complement of ``treat``, 2 levels: treat, control.
    job_dich     ``job_seek`` dichotomised: 1 = high self-efficacy, 0 = low.
    job_disc     ``job_seek`` in four ordered categories, 1 (lowest) to 4 (highest).
    ============ ==================================================================================

    The continuous values were stored in single precision at the source, so they carry float32
    noise (``econ_hard`` is 3.670000076293945, not 3.67); they are kept exactly as R has them.
    The first rows::

           treat  econ_hard  depress1  sex        age                     occp
        0      1       3.00      1.91    1  34.167122            professionals
        1      1       3.67      1.36    0  26.101370  operatives/kindred wrks
        2      1       4.00      2.09    1  35.021919  operatives/kindred wrks
        3      0       2.33      1.45    0  27.487671               manegerial
        4      1       1.33      1.73    1  31.610958         clerical/kindred

           marital    nonwhite    educ  income  job_seek  depress2
        0  married  non.white1  gradwk    50k+  4.833333  1.727273
        1  nevmarr      white0  somcol  15t24k  3.833333  2.000000
        2  nevmarr  non.white1  somcol  25t39k  4.500000  2.181818
        3  married      white0    bach  25t39k  3.666667  1.545455
        4  separtd  non.white1  highsc  25t39k  2.500000  2.363636

            work1  comply  control  job_dich  job_disc
        0  psyemp       0    treat         1         4
        1  psyemp       0    treat         0         3
        2  psyump       0    treat         1         4
        3  psyump       0  control         0         3
        4  psyump       1    treat         0         2

    The data come from the R package ``mediation`` (``data(jobs)``, licence GPL-2 | GPL-3); see
    ``data/README.md`` for how the file was exported and its checksum.

    References
    ----------
    .. [1] Vinokur, A. D., Price, R. H. and Schul, Y. (1995). Impact of the JOBS intervention on
       unemployed workers varying in risk for depression. *American Journal of Community
       Psychology* 23(1), 39-74.
    .. [2] Vinokur, A. D. and Schul, Y. (1997). Mastery and inoculation against setbacks as active
       ingredients in the JOBS intervention for the unemployed. *Journal of Consulting and
       Clinical Psychology* 65(5), 867-877.
    .. [3] Tingley, D., Yamamoto, T., Hirose, K., Keele, L. and Imai, K. (2014). mediation: R
       package for causal mediation analysis. *Journal of Statistical Software* 59(5), 1-38.

    Examples
    --------
    >>> from mediationhte import load_jobs
    >>> jobs = load_jobs()
    >>> jobs.shape
    (899, 17)
    >>> int(jobs["treat"].sum())
    600
    >>> jobs["educ"].cat.categories[0]
    'lt-hs'
    """
    raw = _read_bundled_bytes(_JOBS_FILE, JOBS_SHA256)
    dtypes: dict[str, object] = {col: "float64" for col in _JOBS_COLUMNS}
    dtypes.update({col: "int64" for col in _JOBS_INT_COLUMNS})
    dtypes.update(
        {
            col: pd.CategoricalDtype(categories=list(levels), ordered=False)
            for col, levels in _JOBS_LEVELS.items()
        }
    )
    frame = pd.read_csv(io.BytesIO(raw), dtype=dtypes, keep_default_na=False, na_values=["NA", ""])
    if tuple(frame.columns) != _JOBS_COLUMNS:
        raise BundledDataError(
            f"The bundled data file '{_JOBS_FILE}' has columns {list(frame.columns)}; "
            f"expected {list(_JOBS_COLUMNS)}. {_REINSTALL}"
        )
    bad = [col for col in _JOBS_COLUMNS if frame[col].isna().any()]
    if bad:
        raise BundledDataError(
            f"The bundled data file '{_JOBS_FILE}' has missing or unknown values in columns "
            f"{bad}. {_REINSTALL}"
        )
    return frame


def load_randhie() -> pd.DataFrame:
    """Load the RAND Health Insurance Experiment data bundled with statsmodels, with a teaching treatment.

    The RAND HIE (1974-1982) randomised families to insurance plans with different
    coinsurance rates and recorded their use of medical care. statsmodels ships the
    20,190-row extract used in Cameron & Trivedi's *Microeconometrics* (no download).
    Two columns are added for the ``cate()`` vignette (a common teaching definition):

    * ``T``: 1 if ``lncoins`` (log of coinsurance + 1) is below its mean, i.e. more
      generous insurance; about 54.5% of rows.
    * ``Y``: ``mdvis``, the number of outpatient visits to a medical doctor.

    ``T`` is *not* randomised in this definition (plans were assigned to families,
    and the split pools plans), so the covariates predict it strongly and the
    overlap and balance diagnostics matter.

    Returns
    -------
    pandas.DataFrame
        20,190 rows: ``mdvis`` (visits), ``lncoins`` (log(coinsurance + 1), 0-4.6),
        ``idp`` (1 if individual deductible plan), ``lpi`` (log(max(1, annual
        participation incentive payment))), ``fmde`` (log(max(1, medical deductible
        expenditure)) if idp = 0, else 0), ``physlm`` (1 if physical limitation),
        ``disea`` (number of chronic diseases), ``hlthg``, ``hlthf``, ``hlthp`` (1 if
        self-rated health good, fair, poor; excellent is the base), then ``T`` and
        ``Y``. A new frame on every call.

    Examples
    --------
    >>> from mediationhte import load_randhie
    >>> d = load_randhie()
    >>> d.shape
    (20190, 12)
    >>> round(float(d["T"].mean()), 4)
    0.5447
    """
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data.copy()
    frame["T"] = (frame["lncoins"] < frame["lncoins"].mean()).astype(int)
    frame["Y"] = frame["mdvis"].astype(float)
    return frame.reset_index(drop=True)
