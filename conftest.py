"""Every pytest entry point (``pytest``, ``pytest solutions/``, ``pytest tests/test_x.py``) runs offline
under the smoke profile, and a notebook executed by nbval is a slow test (``make test-fast`` skips it).

``make test`` runs the suite with pytest-xdist, one worker per core, ``--dist loadscope``: each test
module, and each notebook's cells, run in one worker, in order (nbval runs a notebook's cells in one
kernel; module-scoped fixtures are built once)."""

import atexit
import os
import shutil
import tempfile

import pytest

os.environ["FINETUNE_KIT_PROFILE"] = "smoke"  # never the offline profile's minutes-long training
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# Smoke runs save their models under the system's temporary folder; each pytest process (each xdist
# worker, which would otherwise inherit its parent's) gets a folder of its own, so two workers never
# write one model at once and a run never reads what an earlier run left there.
_outputs = tempfile.mkdtemp(prefix=f"finetune-kit-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
os.environ["FINETUNE_KIT_OUTPUTS"] = _outputs
atexit.register(shutil.rmtree, _outputs, ignore_errors=True)
# Workers share the cores: each trains on its share, since PyTorch threads that outnumber the cores
# spin against each other (the grader gives its own kernels their share: grading.runner.kernel_threads).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if str(getattr(item, "path", "")).endswith(".ipynb"):  # nbval's cells: a kernel runs the notebook
            item.add_marker(pytest.mark.slow)
