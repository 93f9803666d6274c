"""Parametric mediation (R ``mediation`` parity): models, effects, draws, sensitivity, effect tests."""
