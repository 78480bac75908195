"""Optional pickers for concept checks: a pick is written into the answer cell.

In JupyterLab, picking an option writes ``name = value`` into the notebook's answer cell for
``name``, exactly as if the student had typed it: the kernel opens a comm (``ANSWER_TARGET``) and
the kit's JupyterLab extension (``labextension/``, built into ``finetune_kit/jupyter/``) edits the
cell through the notebook model. Once the cell holds the line, the picker also sets the variable for
the current session, so the visible checks can run right away. Where the extension is absent (classic
Notebook, VS Code) the picker shows the line to type and sets nothing: a check that passed on a pick
alone would score 0 when graded, since the answer cell would still be empty.

Grading never reads widget state: nbgrader re-runs the saved notebook from the top with no browser,
so what counts is the plain value in the answer cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: The comm target the JupyterLab extension listens on.
ANSWER_TARGET = "finetune_kit.answer"
#: Where the built extension lives (``JUPYTER_PATH`` entry; ``make setup`` links it into the venv).
LABEXTENSIONS = Path(__file__).resolve().parents[1] / "jupyter"


def answer_line(name: str, value: object) -> str:
    return f"{name} = {value!r}"


def write_answer_cell(name: str, value: object, on_written=None) -> object:  # noqa: ANN001 - a callback
    """Ask the front end to write ``name = value`` into the answer cell; returns the comm.

    ``on_written(bool)`` is called when the front end answers (it never does without the extension).
    """
    from comm import create_comm

    comm = create_comm(target_name=ANSWER_TARGET, data={"name": name, "line": answer_line(name, value)})
    if on_written is not None:
        comm.on_msg(lambda msg: on_written(bool(msg["content"]["data"].get("written"))))
    return comm


def choice(name: str, options: Mapping[object, str], *, description: str = "Your answer") -> object:
    """A radio-button picker for the variable ``name``; returns the widget (displayed by Jupyter)."""
    import ipywidgets as widgets
    from IPython import get_ipython

    labels = [(f"{key}) {text}" if isinstance(key, str) else f"{text}", key) for key, text in options.items()]
    picker = widgets.RadioButtons(options=labels, value=None, description=description,
                                  layout=widgets.Layout(width="max-content"))
    hint = widgets.HTML(value="<i>Pick an option: it is written into the answer cell below.</i>")

    def on_pick(change: dict) -> None:
        value = change["new"]
        line = answer_line(name, value)
        hint.value = (f"Type this in the answer cell below and run it: <code>{line}</code> "
                      "(only the answer cell counts)")

        def written(ok: bool) -> None:
            if ok:  # the answer cell holds the line now: the session may have the value too
                shell = get_ipython()
                if shell is not None:
                    shell.user_ns[name] = value
                hint.value = (f"Written into the answer cell below: <code>{line}</code> "
                              "(run that cell and the check after it; only the answer cell counts)")

        write_answer_cell(name, value, written)

    picker.observe(on_pick, names="value")
    return widgets.VBox([picker, hint])
