"""Shared machinery of every analysis: input validation, random state, learners, immutability, threads."""
