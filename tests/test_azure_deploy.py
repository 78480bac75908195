"""Are the endpoint specs valid for azure-ai-ml, consistent with each other, and pinned like requirements.txt?"""

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from finetune_kit.deploy import monitoring

DEPLOY = ROOT / "azure" / "deploy"


def _pins(lines):
    return dict(line.split("==", 1) for line in lines if isinstance(line, str) and "==" in line)


def test_endpoint_and_deployment_load_offline():
    from azure.ai.ml import load_online_deployment, load_online_endpoint
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

    endpoint = load_online_endpoint(source=DEPLOY / "endpoint.yml")
    deployment = load_online_deployment(source=DEPLOY / "deployment.yml")
    assert isinstance(endpoint, ManagedOnlineEndpoint) and endpoint.auth_mode == "key"
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert deployment.endpoint_name == endpoint.name
    assert deployment.instance_type and deployment.instance_count >= 1


def test_deployment_points_at_the_scoring_script_and_the_onnx_export():
    from azure.ai.ml import load_online_deployment

    deployment = load_online_deployment(source=DEPLOY / "deployment.yml")
    code = (DEPLOY / deployment.code_configuration.code).resolve()
    assert (code / deployment.code_configuration.scoring_script).resolve() == ROOT / "azure" / "score" / "score.py"
    assert (code / "finetune_kit" / "deploy" / "serve.py").exists(), \
        "the uploaded code must contain the package score.py uses"
    assert Path(deployment.model.path).resolve() == ROOT / "outputs" / "offline" / "onnx"
    assert set(deployment.data_collector.collections) == {monitoring.INPUTS, monitoring.OUTPUTS}


def test_inline_environment_is_the_registered_one():
    from azure.ai.ml import load_environment, load_online_deployment

    deployment = load_online_deployment(source=DEPLOY / "deployment.yml")
    environment = load_environment(source=DEPLOY / "environment.yml")
    assert deployment.environment.image == environment.image
    assert deployment.environment.conda_file == environment.conda_file == yaml.safe_load(
        (DEPLOY / "conda.yml").read_text())


def test_serving_environment_pins_match_requirements():
    conda = yaml.safe_load((DEPLOY / "conda.yml").read_text())
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    served = _pins(pip)
    for needed in ("azureml-inference-server-http", "onnxruntime", "azureml-ai-monitoring", "tokenizers"):
        assert needed in served, f"conda.yml lacks {needed}"
    requirements = _pins((ROOT / "requirements.txt").read_text().splitlines())
    for name, version in served.items():
        if name in requirements:
            assert version == requirements[name], f"{name}: conda.yml {version}, requirements.txt {requirements[name]}"
    from importlib.metadata import version as installed

    for name in ("tokenizers", "numpy", "pandas"):  # not pinned in requirements.txt: pinned to what it resolves to
        assert served[name] == installed(name), f"{name}: conda.yml {served[name]} vs installed {installed(name)}"


def test_a_broken_spec_is_rejected(tmp_path):
    from azure.ai.ml import load_online_deployment

    broken = yaml.safe_load((DEPLOY / "deployment.yml").read_text())
    broken["instance_count"] = "many"
    path = tmp_path / "deployment.yml"
    path.write_text(yaml.safe_dump(broken))
    (tmp_path / "conda.yml").write_text((DEPLOY / "conda.yml").read_text())
    with pytest.raises(Exception, match="instance_count"):
        load_online_deployment(source=path)


def test_amlignore_keeps_everything_gitignore_ignores_plus_git():
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()}
    aml = {line.strip() for line in (ROOT / ".amlignore").read_text().splitlines()
           if line.strip() and not line.startswith("#")}
    assert ignored <= aml and ".git/" in aml


def test_sample_request_is_a_batch_request():
    sample = json.loads((ROOT / "azure" / "score" / "sample-request.json").read_text())
    assert isinstance(sample["inputs"], list) and all(isinstance(t, str) and t for t in sample["inputs"])


def test_monitor_schedule_in_the_guide_is_valid(tmp_path):
    """The daily drift monitor shown in azure/deploy/README.md parses as an Azure ML schedule."""
    import re

    from azure.ai.ml.entities._load_functions import load_schedule  # not re-exported by azure.ai.ml

    guide = (DEPLOY / "README.md").read_text()
    snippet = next(block for block in re.findall(r"```yaml\n(.*?)```", guide, re.S) if "create_monitor" in block)
    path = tmp_path / "monitor.yml"
    path.write_text(snippet)
    schedule = load_schedule(source=path)
    assert schedule.trigger.frequency == "day"
    assert schedule.create_monitor.monitoring_target.endpoint_deployment_id.endswith("finetune-kit-sentiment:blue")


def test_guide_covers_cli_sdk_invoke_and_data_collector():
    guide = (DEPLOY / "README.md").read_text()
    for must in ("az ml online-endpoint create", "az ml online-deployment create", "online-endpoint invoke",
                 "MLClient", "begin_create_or_update", "data_collector", "scheduled", "real-time"):
        assert must in guide, must
