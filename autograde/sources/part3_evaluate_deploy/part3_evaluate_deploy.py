"""Part 3 — Evaluating and deploying models (source of solutions/part3_evaluate_deploy).

The notebook is assembled from two sections owned by different lessons:
``_evaluation.py`` (metrics, curves, cross-validation, error analysis, T/F checks, reflection) and
``_deployment.py`` (ONNX Runtime, the local Azure ML endpoint, monitoring).
"""

import _deployment
import _evaluation

from notebook_source import code, md

CELLS = [
    md("""
    # Part 3 — Evaluating and deploying a fine-tuned model

    **Goal:** say how good a fine-tuned model is, how sure we are, where it fails — and then ship it:
    make it fast with ONNX Runtime and serve it the way an Azure ML online endpoint does.

    Run the cells from top to bottom. Cells that say `YOUR CODE HERE` or `YOUR ANSWER HERE` are yours.
    """),
    code('PROFILE = None  # or "smoke", "offline", "azure"', tags=("parameters",)),
    code("""
    import finetune_kit as fk

    profile = fk.use_profile(PROFILE)
    """),
    *_evaluation.CELLS,
    *_deployment.CELLS,
]
