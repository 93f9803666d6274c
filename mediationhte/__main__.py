"""Command line: ``python -m mediationhte`` runs the Jobs II analysis; with ``--data`` it analyses a CSV.

Examples
--------
``python -m mediationhte``
``python -m mediationhte --data my.csv --outcome "y ~ t + m + x" --mediator "m ~ t + x" --boot 1000``
``python -m mediationhte --subgroups permutation --permutations 200 --n-jobs 2``
"""

from __future__ import annotations

import argparse
import sys
import warnings

import pandas as pd

from mediationhte.api.mediate import mediate
from mediationhte.datasets.loaders import load_jobs
from mediationhte.errors import MediationHTEError

#: The JSS / vignette specification of R mediation's Jobs II example (Tingley et al. 2014, section 3).
JOBS_COVARIATES = "depress1 + econ_hard + sex + age + occp + marital + nonwhite + educ + income"
JOBS_OUTCOME = f"depress2 ~ treat + job_seek + {JOBS_COVARIATES}"
JOBS_MEDIATOR = f"job_seek ~ treat + {JOBS_COVARIATES}"
JOBS_SEED = 2014


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, never a traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m mediationhte",
                description="Causal mediation analysis. Without --data: the Jobs II example of R's mediation.")
    p.add_argument("--data", metavar="FILE.csv", help="CSV file to analyse (needs --outcome and --mediator)")
    p.add_argument("--outcome", metavar="FORMULA", help='outcome formula, e.g. "y ~ t + m + x"')
    p.add_argument("--mediator", metavar="FORMULA", help='mediator formula, e.g. "m ~ t + x"')
    p.add_argument("--treatment", metavar="T", help="treatment column (default: first term of the mediator formula)")
    p.add_argument("--outcome-family", default="gaussian", choices=("gaussian", "logit", "probit"))
    p.add_argument("--mediator-family", default="gaussian", choices=("gaussian", "logit", "probit"))
    p.add_argument("--sims", type=int, default=1000, help="quasi-Bayesian draws (default 1000)")
    p.add_argument("--boot", type=int, default=None, metavar="N",
                   help="also run N bootstrap resamples (default: 1000 for Jobs II, none for --data)")
    p.add_argument("--boot-method", default="percentile", choices=("percentile", "bca", "bca_r"))
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=JOBS_SEED, help=f"random_state (default {JOBS_SEED})")
    p.add_argument("--subgroups", default=None, choices=("none", "blp", "split", "permutation", "threshold"),
                   help="M-learner subgroup search and its test (default: blp, the test of heterogeneity of the "
                        "indirect effect, for Jobs II; none for --data)")
    p.add_argument("--learner", default="boosting", help="step-1 learner for --subgroups (default boosting)")
    p.add_argument("--permutations", type=int, default=200, metavar="B",
                   help="permutations for --subgroups permutation (default 200)")
    p.add_argument("--p-threshold", type=float, default=None, metavar="P",
                   help="p* for --subgroups threshold (the paper's 0.0043)")
    p.add_argument("--n-jobs", type=int, default=1, help="parallel workers (bootstrap, permutations)")
    p.add_argument("--format", default="text", choices=("text", "latex", "html", "markdown", "csv"),
                   help="output format (csv: the effects tables only)")
    return p


def _render(summary, fmt: str) -> str:
    if fmt == "text":
        return str(summary)
    if fmt == "latex":
        return summary.as_latex()
    if fmt == "html":
        return summary.as_html()
    return summary.as_markdown()


def main(argv=None) -> int:
    """Run the command line; return the exit code (0 success, 2 bad arguments or input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.data is None:
        if args.outcome or args.mediator:
            parser.error("--outcome and --mediator need --data FILE.csv")
        data, outcome, mediator = load_jobs(), JOBS_OUTCOME, JOBS_MEDIATOR
        boot = 1000 if args.boot is None else args.boot
        subgroups = args.subgroups or "blp"
    else:
        if not (args.outcome and args.mediator):
            parser.error("--data needs both --outcome and --mediator formulas")
        try:
            data = pd.read_csv(args.data)
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read --data {args.data!r}: {exc}")
        outcome, mediator = args.outcome, args.mediator
        boot = args.boot or 0
        subgroups = args.subgroups or "none"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            fit = mediate(outcome, mediator, data, treatment=args.treatment, outcome_family=args.outcome_family,
                          mediator_family=args.mediator_family, sims=args.sims, alpha=args.alpha,
                          random_state=args.seed)
            outputs = [fit.summary()]
            if boot:
                outputs.append(fit.bootstrap_ci(boot, method=args.boot_method, random_state=args.seed,
                                                n_jobs=args.n_jobs).summary())
            if subgroups != "none" and args.format != "csv":
                ml = mediate(outcome, mediator, data, treatment=args.treatment, outcome_family=args.outcome_family,
                             mediator_family=args.mediator_family, alpha=args.alpha, learner=args.learner,
                             random_state=args.seed)
                outputs.append(ml.subgroups(calibration=subgroups, n_permutations=args.permutations,
                                            p_threshold=args.p_threshold, alpha=args.alpha,
                                            n_boot=boot or 1000, random_state=args.seed, n_jobs=args.n_jobs))
    except MediationHTEError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    if args.format == "csv":
        # One table, so the output loads as a single CSV: a method column tells the intervals apart.
        frames = [s.to_frame().assign(method=s.method).set_index("method", append=True) for s in outputs
                  if hasattr(s, "method")]
        sys.stdout.write(pd.concat(frames).to_csv())
        return 0
    for summary in outputs:
        sys.stdout.write(_render(summary, args.format))
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
