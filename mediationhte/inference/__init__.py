"""Inference shared by the analyses: intervals from draws, the bootstrap engine, cluster-robust OLS."""
