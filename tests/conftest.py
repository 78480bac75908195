"""Every test runs offline, under the smoke profile, with the venv's tools on PATH."""

import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["FINETUNE_KIT_PROFILE"] = "smoke"
os.environ["MPLBACKEND"] = "Agg"
_bin = str(Path(sys.executable).parent)
os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

ROOT = Path(__file__).resolve().parent.parent
