"""Optional pickers for concept checks.

Grading never reads widget state: nbgrader re-runs the notebook from the top with no browser, so
the answer must be a plain value typed in the answer cell. The picker is a convenience that shows
the exact line to type and sets the variable for the current session, so the student can run the
visible checks right away.
"""

from __future__ import annotations

from collections.abc import Mapping


def answer_line(name: str, value: object) -> str:
    return f"{name} = {value!r}"


def choice(name: str, options: Mapping[object, str], *, description: str = "Your answer") -> object:
    """A radio-button picker for the variable ``name``; returns the widget (displayed by Jupyter)."""
    import ipywidgets as widgets
    from IPython import get_ipython

    labels = [(f"{key}) {text}" if isinstance(key, str) else f"{text}", key) for key, text in options.items()]
    picker = widgets.RadioButtons(options=labels, value=None, description=description,
                                  layout=widgets.Layout(width="max-content"))
    hint = widgets.HTML(value="<i>Pick an option, then copy the line shown here into the answer cell.</i>")

    def on_pick(change: dict) -> None:
        line = answer_line(name, change["new"])
        shell = get_ipython()
        if shell is not None:
            shell.user_ns[name] = change["new"]
        hint.value = f"Type this in the answer cell below: <code>{line}</code>"

    picker.observe(on_pick, names="value")
    return widgets.VBox([picker, hint])
