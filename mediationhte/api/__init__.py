"""Public entry points: check the arguments, resolve the random state once, dispatch. No maths here."""
