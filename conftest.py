"""Every pytest entry point (``pytest``, ``pytest solutions/``, ``pytest tests/test_x.py``) runs offline
under the smoke profile, and a notebook executed by nbval is a slow test (``make test-fast`` skips it)."""

import os

import pytest

os.environ["FINETUNE_KIT_PROFILE"] = "smoke"  # never the offline profile's minutes-long training
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if str(getattr(item, "path", "")).endswith(".ipynb"):  # nbval's cells: a kernel runs the notebook
            item.add_marker(pytest.mark.slow)
