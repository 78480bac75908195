"""Does the kit pick the profile a student, a grader and CI expect, and say why?"""

import pytest

from finetune_kit.course import config


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("FINETUNE_KIT_PROFILE", "NBGRADER_EXECUTION", "CI"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_is_offline(clean_env):
    profile, reason = config.resolve_profile()
    assert profile.name == "offline" and "default" in reason


def test_nbgrader_forces_smoke(clean_env):
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    profile, reason = config.resolve_profile()
    assert profile.name == "smoke" and "nbgrader" in reason


def test_ci_means_smoke_but_false_does_not(clean_env):
    clean_env.setenv("CI", "true")
    assert config.resolve_profile()[0].name == "smoke"
    clean_env.setenv("CI", "false")
    assert config.resolve_profile()[0].name == "offline"


def test_precedence_parameter_over_env(clean_env):
    clean_env.setenv("FINETUNE_KIT_PROFILE", "azure")
    clean_env.setenv("NBGRADER_EXECUTION", "autograde")
    assert config.resolve_profile()[0].name == "azure"
    assert config.resolve_profile("offline")[0].name == "offline"


def test_unknown_profile_names_the_choices(clean_env):
    with pytest.raises(ValueError, match="smoke, offline, azure"):
        config.resolve_profile("fast")


def test_offline_profiles_use_the_packaged_encoder():
    from pathlib import Path

    for name in ("smoke", "offline"):
        source = Path(config.model_source(config.PROFILES[name]))
        assert (source / "config.json").exists() and (source / "model.safetensors").exists()
    assert config.model_source(config.PROFILES["azure"]) == "distilbert-base-uncased"


def test_use_profile_prints_profile_model_and_data(clean_env, capsys):
    config.use_profile("smoke")
    out = capsys.readouterr().out
    assert "Profile : smoke" in out and "all-MiniLM-L6-v2" in out and "data" in out


def test_the_profile_a_notebook_chose_is_the_active_one(clean_env, capsys):
    clean_env.setattr(config, "_active", None)
    assert config.active_profile().name == "offline"  # nothing chosen: the environment decides
    config.use_profile("smoke")  # a notebook's first cell (e.g. PROFILE = "smoke" on a laptop)
    assert config.active_profile().name == "smoke"  # what the export's defaults must follow
    assert config.resolve_profile()[0].name == "offline"  # the environment alone still says offline
    capsys.readouterr()
