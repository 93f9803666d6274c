"""Cluster-randomised trials: mixed models, mixed-effects learners, cluster-aware inference."""
