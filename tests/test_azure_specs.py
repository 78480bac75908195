"""Does every Azure ML YAML in azure/ load and validate with azure-ai-ml's own loaders (offline)?"""

from pathlib import Path

import pytest
import yaml

from conftest import ROOT

SPECS = sorted((ROOT / "azure").rglob("*.yml")) + sorted((ROOT / "azure").rglob("*.yaml"))
#: $schema file name -> azure.ai.ml loader
LOADERS = {
    "commandJob.schema.json": "load_job",
    "environment.schema.json": "load_environment",
    "managedOnlineEndpoint.schema.json": "load_online_endpoint",
    "managedOnlineDeployment.schema.json": "load_online_deployment",
    "model.schema.json": "load_model",
}


def _schema(path: Path) -> str | None:
    doc = yaml.safe_load(path.read_text())
    return doc.get("$schema", "").rsplit("/", 1)[-1] if isinstance(doc, dict) else None


AZURE_SPECS = [p for p in SPECS if _schema(p)]


def test_specs_exist():
    assert any(_schema(p) == "commandJob.schema.json" for p in AZURE_SPECS)


@pytest.mark.parametrize("path", AZURE_SPECS, ids=[str(p.relative_to(ROOT)) for p in AZURE_SPECS])
def test_spec_loads_with_azure_ai_ml(path):
    import azure.ai.ml as aml

    schema = _schema(path)
    assert schema in LOADERS, f"{path}: no loader known for $schema {schema}"
    entity = getattr(aml, LOADERS[schema])(source=path)
    assert entity is not None


def test_training_job_runs_the_kit_cli_distributed():
    from azure.ai.ml import load_job

    job = load_job(source=ROOT / "azure" / "train" / "job.yml")
    assert "python -m finetune_kit train --profile azure" in job.command
    assert job.distribution.type == "pytorch"
    assert job.distribution.process_count_per_instance >= 2 and job.resources.instance_count >= 2
    assert "model" in job.outputs


def test_training_environment_uses_the_kit_conda_file():
    from azure.ai.ml import load_environment

    env = load_environment(source=ROOT / "azure" / "train" / "environment.yml")
    pins = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env.conda_file == pins
