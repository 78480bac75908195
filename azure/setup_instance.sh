#!/usr/bin/env bash
# The course on an Azure ML compute instance, in one command (a terminal on the instance, in the
# cloned repository):
#
#     bash azure/setup_instance.sh
#
# 1. creates the conda environment from environment.yml (or updates it when it exists: safe to rerun);
# 2. installs the kit into it (editable: `git pull` updates the course);
# 3. registers its Jupyter kernel under the name every notebook declares, `finetune-kit`, so the
#    notebooks open in this environment rather than the instance's default `python3`;
# 4. links the concept-check picker's JupyterLab extension (prebuilt, no Node.js needed);
# 5. checks the GPU: what the instance has, what PyTorch sees, and the precision the kit will train in.
#
# Which PyTorch it installs: environment.yml pins torch==2.13.0 from PyPI, which on Linux is the CUDA
# build (it brings several GB of NVIDIA libraries): right for a GPU instance, and it also runs on a CPU
# instance, just with a larger download. (`make setup` on the course's own CPU machines gets a CPU
# build because their pip is configured to serve one; a plain pip on a public index does not.)
#
# Environment: FINETUNE_KIT_ENV (default finetune-kit) names the conda environment.
set -euo pipefail

ENV_NAME="${FINETUNE_KIT_ENV:-finetune-kit}"
KERNEL_NAME="finetune-kit"  # the name in every notebook's metadata (autograde/notebook_source.py)
KERNEL_DISPLAY="Python (finetune-kit)"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTENSION="$REPO/finetune_kit/jupyter/labextensions/finetune-kit-answers"
LABEXTENSIONS="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/labextensions"

say() { printf '[setup] %s\n' "$*"; }
in_env() { conda run --no-capture-output --name "$ENV_NAME" "$@"; }

command -v conda >/dev/null || { echo "[setup] conda not found: run this on an Azure ML compute instance (or install Miniconda)" >&2; exit 1; }
[ -f "$REPO/environment.yml" ] || { echo "[setup] $REPO/environment.yml not found: run the script from the kit's repository" >&2; exit 1; }
[ -d "$EXTENSION" ] || { echo "[setup] $EXTENSION not found: the checkout is incomplete" >&2; exit 1; }

if conda env list | awk '{print $1}' | grep -qx "$ENV_NAME"; then
    say "updating the conda environment $ENV_NAME from environment.yml"
    conda env update --name "$ENV_NAME" --file "$REPO/environment.yml" --prune
else
    say "creating the conda environment $ENV_NAME from environment.yml (PyTorch's CUDA build: several GB)"
    conda env create --name "$ENV_NAME" --file "$REPO/environment.yml"
fi

say "installing the kit into $ENV_NAME"
in_env python -m pip install --quiet --no-deps -e "$REPO"

say "registering the Jupyter kernel '$KERNEL_NAME' ($KERNEL_DISPLAY)"
in_env python -m ipykernel install --user --name "$KERNEL_NAME" --display-name "$KERNEL_DISPLAY"

say "linking the concept-check picker into $LABEXTENSIONS"
mkdir -p "$LABEXTENSIONS"
ln -sfn "$EXTENSION" "$LABEXTENSIONS/"

say "checking the GPU"
if command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; then
    has_gpu=1
else
    say "no NVIDIA GPU on this instance: training runs on the CPU (the offline profile; the azure profile needs a GPU)"
    has_gpu=0
fi
in_env python - "$has_gpu" <<'PY'
import sys

import torch

from finetune_kit.course import hardware

print(f"[setup] torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}); "
      f"GPU visible to torch: {torch.cuda.is_available()}")
print(f"[setup] the kit will train with: {hardware.detect().describe()}")
if sys.argv[1] == "1" and not torch.cuda.is_available():
    sys.exit("[setup] this instance has a GPU but torch cannot use it: a CPU-only torch build is installed "
             "in the environment; remove it and rerun (environment.yml pins the CUDA build)")
PY

say "done. Open a notebook under notebooks/ in JupyterLab: it starts in the kernel '$KERNEL_DISPLAY'."
