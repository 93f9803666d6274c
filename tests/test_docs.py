"""The documentation's promises that can be checked without building it (the build itself runs in ``.ci/run``).

* every exported function and class has a page in the API reference (``docs/api.rst``);
* every vignette is a sphinx-gallery example (a reST title in its docstring) and draws at least one figure;
* the README's documentation command is the one ``.ci/run`` runs, verbatim;
* no docstring of the package points at a specification file outside the repository.
"""

import ast
import re
from pathlib import Path

import pytest

import mediationhte as mh

ROOT = Path(__file__).resolve().parents[1]
DOCS_COMMAND = 'pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html'
VIGNETTES = sorted((ROOT / "vignettes").glob("*.py"))


def test_api_reference_lists_every_export():
    listed = set(re.findall(r"^\s{3}(\w+)$", (ROOT / "docs" / "api.rst").read_text(), re.M))
    missing = [name for name in mh.__all__ if name != "__version__" and name not in listed]
    assert not missing, f"not in docs/api.rst: {missing}"


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.name for p in VIGNETTES])
def test_vignette_is_a_gallery_example_with_a_figure(path):
    source = path.read_text()
    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{path.name}: sphinx-gallery needs a module docstring"
    title, underline = doc.splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), f"{path.name}: the docstring must open with a title"
    assert re.search(r"\.plot\w*\(", source), f"{path.name}: no figure"
    assert "savefig" not in source and "plt.close" not in source, f"{path.name}: figures must stay open for the gallery"


def test_readme_docs_command_is_what_ci_runs():
    assert DOCS_COMMAND in (ROOT / "README.md").read_text()
    assert DOCS_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()[-1]


def test_docstrings_do_not_cite_files_outside_the_repository():
    pattern = re.compile(r"specs?/|\b\w+\.md\b(?<!README\.md)|\bspec (section|§|crt|dynamic|mlearner)", re.I)
    offenders = []
    for path in (ROOT / "mediationhte").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                offenders += [f"{path.relative_to(ROOT)}: {line.strip()}" for line in doc.splitlines()
                              if pattern.search(line) and "README.md" not in line and "CHANGELOG.md" not in line]
    assert not offenders, "\n".join(offenders)
