"""Do environment.yml (Azure ML compute instance) and requirements.txt pin the same packages?"""

import yaml

from conftest import ROOT
from finetune_kit.course import hardware


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    assert sorted(pip_lists[0]) == _requirements()


def test_python_and_torch_pinned():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert "torch==2.13.0" in _requirements()
    assert all("==" in req for req in _requirements()), "every requirement is pinned"


# --- azure/setup_instance.sh: one command on a compute instance -------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import nbformat  # noqa: E402
import pytest  # noqa: E402

SETUP = ROOT / "azure" / "setup_instance.sh"

# A stand-in for conda: logs every call; `conda run` runs the command with this test's Python (pip is
# only logged, so the test installs nothing), the way the real one runs it inside the environment.
FAKE_CONDA = """#!/usr/bin/env bash
echo "conda $*" >> "$CONDA_LOG"
case "$1" in
  env) if [ "$2" = list ]; then printf '# conda environments:\\nbase  /opt/conda\\n%s' "$EXISTING_ENVS"; fi ;;
  run) shift; while [ "${1#--}" != "$1" ]; do [ "$1" = --name ] && shift; shift; done
       [ "$1 $2 $3" = "python -m pip" ] && exit 0
       [ "$1" = python ] && shift && exec "$TEST_PYTHON" "$@"
       exec "$@" ;;
esac
"""


def _run_setup(tmp_path, existing_envs: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "conda").write_text(FAKE_CONDA)
    (bin_dir / "conda").chmod(0o755)
    log = tmp_path / "conda.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path / "home"),
           "CONDA_LOG": str(log), "TEST_PYTHON": sys.executable, "EXISTING_ENVS": existing_envs,
           "JUPYTER_DATA_DIR": str(tmp_path / "home" / ".local" / "share" / "jupyter"),
           "FINETUNE_KIT_DEVICE": "cpu"}
    env.pop("JUPYTER_PATH", None)
    done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    return done, log.read_text().splitlines() if log.exists() else []


def test_setup_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(SETUP)], capture_output=True).returncode == 0


def test_setup_creates_the_env_registers_the_notebooks_kernel_and_links_the_picker(tmp_path):
    done, calls = _run_setup(tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"conda env create --name finetune-kit --file {ROOT / 'environment.yml'}" in calls
    assert any("pip install --quiet --no-deps -e" in call for call in calls)
    kernel = tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels" / "finetune-kit" / "kernel.json"
    spec = json.loads(kernel.read_text())
    assert spec["display_name"] == "Python (finetune-kit)" and spec["argv"][0] == sys.executable
    link = tmp_path / "home" / ".local" / "share" / "jupyter" / "labextensions" / "finetune-kit-answers"
    assert link.is_symlink() and (link / "package.json").is_file()
    said = "CPU with native bf16: bf16" if hardware.detect().bf16 else "CPU: fp32"
    assert f"the kit will train with: {said}" in done.stdout


def test_setup_updates_an_existing_env_instead_of_failing(tmp_path):
    done, calls = _run_setup(tmp_path, existing_envs="finetune-kit  /opt/conda/envs/finetune-kit\n")
    assert done.returncode == 0, done.stderr
    assert any(call.startswith("conda env update --name finetune-kit") for call in calls)
    assert not any(call.startswith("conda env create") for call in calls)


@pytest.mark.parametrize("folder", ["solutions", "notebooks", "autograde/sources"])
def test_every_notebook_opens_in_the_kernel_the_setup_registers(folder):
    script = SETUP.read_text()
    assert 'KERNEL_NAME="finetune-kit"' in script
    makefile = (ROOT / "Makefile").read_text()
    assert "ipykernel install --sys-prefix --name finetune-kit" in makefile
    paths = sorted((ROOT / folder).glob("*/*.ipynb" if folder != "autograde/sources" else "*/*.py"))
    assert paths
    for path in paths:
        if path.suffix == ".ipynb":
            name = nbformat.read(path, as_version=4).metadata["kernelspec"]["name"]
        else:
            name = re.search(r"^#     name: (\S+)$", path.read_text(), re.MULTILINE).group(1)
        assert name == "finetune-kit", f"{path.relative_to(ROOT)} declares kernel {name!r}"
