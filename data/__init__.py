"""Bundled data sets, installed as ``mediationhte.data`` (see ``data/README.md``)."""
