"""Sphinx configuration of the mediationhte documentation.

Build from the repository root (warnings are errors)::

    pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery executes ``vignettes/*.py`` at build time (sphinx-gallery); no page downloads anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
# One native thread per process keeps the build's timings (and numbers) independent of the machine's load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import mediationhte  # noqa: E402

project = "mediationhte"
author = "The mediationhte developers"
copyright = "2026, the mediationhte developers"
release = mediationhte.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "executed",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "tutorial_src", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json",
                    "tutorial/*.ipynb", "tutorial/*.py", "tutorial/*.zip", "tutorial/*.md5", "tutorial/*.json"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["custom.css"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"   # numpydoc's parameter sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

html_theme = "pydata_sphinx_theme"
html_title = f"mediationhte {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"changelog": [], "r_users": []}

sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "vignettes"), "tutorial_src"],
    "gallery_dirs": ["auto_examples", "tutorial"],
    "filename_pattern": r".*\.py$",          # execute every vignette, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": True,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("__repr__",),
    "min_reported_time": 5,
    "show_memory": False,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "write_computation_times": False,   # its page pulls scripts from CDNs; the timings are in the build log
}
