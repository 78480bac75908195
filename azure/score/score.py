"""Scoring script of the Azure ML managed online endpoint: ``init()`` once, ``run()`` per request.

Thin on purpose: validation, the ONNX model and data collection live in ``finetune_kit.deploy.serve``,
where they are tested. ``@rawhttp`` hands ``run()`` the raw HTTP request, so it can answer bad
input with a 4xx status and a JSON error (an undecorated ``run()`` could only return 200 or,
by raising, 500).

Local test, the same server Azure runs (from the repository root)::

    azmlinfsrv --entry_script azure/score/score.py --model_dir outputs/offline/onnx --port 5001
    curl -s -X POST localhost:5001/score -H 'Content-Type: application/json' -d @azure/score/sample-request.json
"""

import sys
from pathlib import Path

# Deployed with code_configuration.code = the repository root, this file sits two levels below it.
_REPO = Path(__file__).resolve().parents[2]
if (_REPO / "finetune_kit").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

# Older samples import these as azureml.contrib.services.aml_request/aml_response: aliases the
# server installs for the same modules.
from azureml_inference_server_http.api.aml_request import rawhttp  # noqa: E402
from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa: E402

from finetune_kit.deploy.serve import ScoringService  # noqa: E402

service = None


def init():
    global service
    service = ScoringService.from_environment()


@rawhttp
def run(request):
    status, payload = service.handle(request.method, request.content_length, request.stream.read,
                                     request_id=request.headers.get("x-request-id", ""))
    return AMLResponse(payload, status, json_str=True)
