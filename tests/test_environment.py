"""Do environment.yml (Azure ML compute instance) and requirements.txt pin the same packages?"""

import yaml

from conftest import ROOT


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
