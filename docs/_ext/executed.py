"""``.. executed::`` — run a Python snippet at build time and show it with what it printed.

The pages quote real output (a table, a test result) rather than text pasted by hand, so they
cannot drift from the package. Snippets of one page share a namespace, in page order. An
exception fails the build (the warning it raises is an error under ``-W``).
"""

from __future__ import annotations

import contextlib
import io
import textwrap
import traceback

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class ExecutedDirective(SphinxDirective):
    has_content = True
    optional_arguments = 0
    option_spec = {"hide-code": lambda arg: True, "hide-output": lambda arg: True}

    def run(self):
        code = textwrap.dedent("\n".join(self.content))
        namespaces = self.env.temp_data.setdefault("executed_namespaces", {})
        namespace = namespaces.setdefault(self.env.docname, {"__name__": f"executed_{self.env.docname}"})
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, f"<{self.env.docname}>", "exec"), namespace)
        except Exception:
            message = f"executed snippet failed in {self.env.docname}:\n{traceback.format_exc()}"
            return [self.state.document.reporter.error(message, line=self.lineno)]
        out = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code)
            block["language"] = "python"
            out.append(block)
        printed = buffer.getvalue().rstrip("\n")
        if printed and "hide-output" not in self.options:
            result = nodes.literal_block(printed, printed)
            result["language"] = "text"
            result["classes"].append("executed-output")
            out.append(result)
        return out


def setup(app):
    app.add_directive("executed", ExecutedDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
