"""The Trainer's progress as plain lines, for notebooks executed headless (``make demo``, CI).

In a Jupyter kernel transformers shows progress as an HTML table that it redraws in place; a notebook
executed by papermill sends that to the executed copy, and the terminal that started the job sees nothing
for the whole of a training run (7 minutes and more under ``offline``). ``install`` makes every Trainer
created afterwards in this process report with ``TextProgress`` instead: a line every tenth of the steps
with the time left, and each log (training loss, validation metrics) as it comes. The headless executor
runs ``install`` when it starts a kernel (``headless.PLAIN_PROGRESS``); a student's JupyterLab keeps the HTML
table.
"""

from __future__ import annotations

import time

from transformers import TrainerCallback

#: A progress line every tenth of the training steps.
LINES_PER_RUN = 10


def _minutes(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class TextProgress(TrainerCallback):
    """Plain ``print`` lines: they reach the terminal through the kernel's output stream, as they happen."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.start, self.shown = time.perf_counter(), 0
        if state.is_world_process_zero:
            print(f"training: {state.max_steps} steps, {args.num_train_epochs:g} epoch(s)", flush=True)

    def on_step_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not state.max_steps:
            return
        done = state.global_step / state.max_steps
        share = int(done * LINES_PER_RUN + 1e-9)
        if share <= self.shown:
            return
        self.shown = share
        elapsed = time.perf_counter() - self.start
        print(f"  step {state.global_step}/{state.max_steps} (epoch {state.epoch or 0:.2f}): "
              f"{_minutes(elapsed)} so far, about {_minutes(elapsed / done * (1 - done))} left", flush=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            shown = {k: v for k, v in logs.items() if k != "total_flos"}
            print("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in shown.items()), flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            print(f"training done: {state.global_step} steps in {_minutes(time.perf_counter() - self.start)}",
                  flush=True)


def install() -> None:
    """Every Trainer created from now on in this process reports with ``TextProgress``.

    transformers picks its progress reporter (``DEFAULT_PROGRESS_CALLBACK``) once, when ``transformers.trainer``
    is imported, and reads it in ``Trainer.__init__``; a Trainer with ``disable_tqdm=True`` (the smoke
    profile) prints its logs as before and gets no progress lines.
    """
    import transformers.trainer

    transformers.trainer.DEFAULT_PROGRESS_CALLBACK = TextProgress
