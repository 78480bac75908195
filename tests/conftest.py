"""Every test runs offline, under the smoke profile, with the venv's tools on PATH."""

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["FINETUNE_KIT_PROFILE"] = "smoke"
os.environ["MPLBACKEND"] = "Agg"
_bin = str(Path(sys.executable).parent)
os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

ROOT = Path(__file__).resolve().parent.parent

#: A five-sentence contract and its summary: the legal summarisation tests' smallest document.
CONTRACT = [
    "This Agreement is made between Alder Ltd and Birch plc.",
    "The Buyer shall pay 500 dollars on delivery.",
    "Headings are for convenience only.",
    "The Seller shall deliver the goods within ten days.",
    "This Agreement is governed by the laws of Ruritania.",
]
CONTRACT_SUMMARY = "The seller delivers the goods within ten days and the buyer pays 500 dollars on delivery."


# --- shared, session-scoped: a saved model and its ONNX export (Part 3 deployment tests) ----------


@pytest.fixture(scope="session")
def fresh_model_dir(tmp_path_factory):
    """The packaged MiniLM with a new, untrained 2-label head, saved as a standard model folder."""
    from finetune_kit.course import config
    from finetune_kit.sentiment import models

    path = tmp_path_factory.mktemp("fresh-model")
    profile = config.PROFILES["smoke"]
    models.load_classifier(profile).save_pretrained(path)
    models.load_tokenizer(profile).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def onnx_export(fresh_model_dir, tmp_path_factory):
    """``export_onnx`` of ``fresh_model_dir``: model.onnx (fp32), model.int8.onnx, tokenizer, export.json."""
    from finetune_kit.deploy import export

    return export.export_onnx(fresh_model_dir, tmp_path_factory.mktemp("onnx"), max_length=128)
