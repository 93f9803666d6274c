"""Dynamic mediation of sequential treatments: transitions, nuisances, Q and ratio bases, estimators."""
