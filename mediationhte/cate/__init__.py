"""Meta-learners for heterogeneous total effects, average effects and the causal diagnostics."""
