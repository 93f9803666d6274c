"""Bundled data loaders and the simulators with known truths."""
