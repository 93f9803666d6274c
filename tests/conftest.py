"""Test-session setup: one native thread per xdist worker.

The default run uses ``-n auto`` (one worker per core). Each worker then runs its
OpenMP and BLAS pools on one thread, so workers x threads never exceed the cores:
HistGradientBoosting's OpenMP threads spin-wait when the cores are taken, which
made oversubscribed runs several times slower. Numbers do not depend on the
thread count.
"""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Before numpy/scikit-learn load their native runtimes, which read these once.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
