"""Does every Azure ML YAML in azure/ load and validate with azure-ai-ml's own loaders (offline)?"""

from pathlib import Path

import pytest
import yaml

from conftest import ROOT

SPECS = sorted((ROOT / "azure").rglob("*.yml")) + sorted((ROOT / "azure").rglob("*.yaml"))
#: $schema file name -> azure.ai.ml loader
LOADERS = {
    "commandJob.schema.json": "load_job",
    "pipelineJob.schema.json": "load_job",
    "commandComponent.schema.json": "load_component",
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


def test_grading_pipeline_runs_four_shards_then_merges_them():
    """azure/grade/pipeline.yml: every share of the class once, each shard's output into the merge, the
    merged class registered as a data asset; the commands are the kit's own CLI."""
    from azure.ai.ml import load_job

    job = load_job(source=ROOT / "azure" / "grade" / "pipeline.yml")
    assert job._validate().passed
    shard_nodes = {name: node for name, node in job.jobs.items() if name.startswith("shard_")}
    assert sorted(str(node.inputs["shard"]._data) for node in shard_nodes.values()) == ["1/4", "2/4", "3/4", "4/4"]
    command = "python -m finetune_kit grade ${{inputs.submissions}} --shard ${{inputs.shard}}"
    for node in shard_nodes.values():
        assert command in node.component.command
        assert str(node.inputs["submissions"]._data) == "${{parent.inputs.submissions}}"
    merge = job.jobs["merge"]
    assert "python -m finetune_kit grade-merge" in merge.command
    fed = {merge.inputs[name]._data.path for name in merge.inputs}
    assert fed == {f"${{{{parent.jobs.{name}.outputs.graded}}}}" for name in shard_nodes}
    assert all(f"${{{{inputs.{name}}}}}" in merge.command for name in merge.inputs)
    assert job.inputs["submissions"]._data.type == "uri_folder"
    assert (job.outputs["graded"].type, job.outputs["graded"].name) == ("uri_folder", "graded-class")


def test_training_environment_uses_the_kit_conda_file():
    from azure.ai.ml import load_environment

    env = load_environment(source=ROOT / "azure" / "train" / "environment.yml")
    pins = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env.conda_file == pins
