"""EconML's four meta-learners on a data file, for ``bench_cate.py`` (run in EconML's own environment).

EconML is a peer, not a dependency: this script imports only EconML, scikit-learn and numpy, so it runs under
another interpreter (``python benchmarks/bench_cate.py --peer-python /path/to/econml-env/bin/python``)::

    python peer_econml.py DATA.npz '{"max_iter": 100, ...}' [--learners S T X DR] [--cv 2]

``DATA.npz`` holds X, y, t; the JSON gives the HistGradientBoostingRegressor parameters of the base learner (the
same as mediationhte's). The propensity model is mediationhte's default (standardised logistic regression).
Prints one JSON object: seconds per learner, and the unit effects (``--effects FILE.npy``, one column per learner).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("params", help="HistGradientBoostingRegressor parameters as JSON")
    p.add_argument("--learners", nargs="+", default=["S", "T", "X", "DR"], choices=["S", "T", "X", "DR"])
    p.add_argument("--cv", type=int, default=2, help="DRLearner cross-fitting folds (EconML's default 2)")
    p.add_argument("--effects", default="", help="write the unit effects (n x learners) to this .npy file")
    args = p.parse_args(argv)

    import econml
    import sklearn
    from econml.dr import DRLearner
    from econml.metalearners import SLearner, TLearner, XLearner
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = np.load(args.data)
    X, y, t = data["X"], data["y"], data["t"]
    params = json.loads(args.params)

    def base():
        return HistGradientBoostingRegressor(**params)

    def propensity():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    builders = {
        "S": lambda: SLearner(overall_model=base()),
        "T": lambda: TLearner(models=base()),
        "X": lambda: XLearner(models=base(), propensity_model=propensity()),
        "DR": lambda: DRLearner(model_propensity=propensity(), model_regression=base(), model_final=base(),
                                cv=args.cv, random_state=0),
    }
    seconds, effects = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in args.learners:
            t0 = time.perf_counter()
            effects.append(np.asarray(builders[name]().fit(y, t, X=X).effect(X), dtype=float).ravel())
            seconds[name] = time.perf_counter() - t0
    if args.effects:
        np.save(args.effects, np.column_stack(effects))
    print(json.dumps({"seconds": seconds, "econml": econml.__version__, "sklearn": sklearn.__version__}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
