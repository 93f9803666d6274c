"""The M-learner's step 1: cross-fitted nuisances, unit-level effects, influence-function averages."""
