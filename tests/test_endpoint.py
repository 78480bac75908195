"""Does Azure's own inference server, running azure/score/score.py on loopback, serve the model robustly?

One azmlinfsrv process for the module (127.0.0.1, a free port), stopped at the end.
"""

import json

import psutil
import pytest

from conftest import ROOT
from finetune_kit.deploy import endpoint, monitoring
from finetune_kit.deploy.serve import read_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(onnx_export, tmp_path_factory):
    collect_dir = tmp_path_factory.mktemp("collected")
    with endpoint.LocalEndpoint(onnx_export.output_dir, collect_dir=collect_dir) as ep:
        yield ep
    assert ep.process is None
    assert ep.log_path is not None and not ep.log_path.exists()  # no log left behind in the temporary folder


def test_listens_on_loopback_only(server):
    ports = []
    tree = psutil.Process(server.process.pid)
    for proc in [tree, *tree.children(recursive=True)]:
        ports += [c.laddr for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN]
    assert ports and all(addr.ip == "127.0.0.1" for addr in ports), ports


def test_health_route(server):
    reply = endpoint.request(server.base_url + "/")
    assert reply.status == 200 and reply.body == b"Healthy"


def test_single_and_batch_requests(server, onnx_export):
    version = read_manifest(onnx_export.output_dir)["model_version"]
    one = server.score("The battery lasts two days.")
    assert set(one) == {"label", "score", "model_version"} and one["model_version"] == version
    assert one["label"] in ("negative", "positive") and 0.5 <= one["score"] <= 1
    many = server.score(["great", "awful", "fine I guess"])
    assert [set(p) for p in many["predictions"]] == [{"label", "score"}] * 3


def test_sample_request_file(server):
    body = (ROOT / "azure" / "score" / "sample-request.json").read_bytes()
    reply = endpoint.request(server.scoring_uri, "POST", body)
    assert reply.status == 200 and len(reply.json()["predictions"]) == 2


@pytest.mark.parametrize("name, body", list(endpoint.malformed_requests().items()))
def test_bad_input_gets_4xx_json_error_and_server_keeps_serving(server, name, body):
    reply = endpoint.request(server.scoring_uri, "POST", body)
    assert 400 <= reply.status < 500, (name, reply.status, reply.body[:200])
    error = reply.json()["error"]
    assert error["code"] and len(error["message"]) > 20, name
    assert server.score("still there?")["label"] in ("negative", "positive")


def test_get_on_score_is_405(server):
    reply = endpoint.request(server.scoring_uri, "GET")
    assert reply.status == 405 and "POST" in reply.json()["error"]["message"]


def test_small_load_run_has_no_5xx(server):
    texts = ["I loved it", "It broke after a day and nobody answered my emails.", "ok", "Superb service " * 20]
    report = endpoint.load_run(server, texts, requests=150, malformed_share=0.3, concurrency=4, seed=3)
    assert report.requests == 150
    assert report.server_errors == 0 and report.connection_errors == 0 and report.unexpected == 0, report.summary()
    assert report.ok and server.alive()
    assert 0 < report.latency_ms["p50"] <= report.latency_ms["p95"] <= report.latency_ms["p99"]
    assert set(report.status_counts) <= {"200", "400", "405", "413", "422"} and "200" in report.status_counts
    assert json.loads(json.dumps(report.to_dict()))["ok"] is True


def test_requests_are_collected_for_monitoring(server):
    server.score(["collected text number one", "and two"])
    rows = monitoring.read_collected(server.collect_dir)
    assert {"text", "n_words", "label", "score", "p_positive"} <= set(rows.columns)
    assert "collected text number one" in set(rows["text"])
    assert rows["p_positive"].between(0, 1).all()


def test_a_broken_model_dir_fails_fast_with_the_log(tmp_path):
    with pytest.raises(RuntimeError, match="export.json"):
        endpoint.LocalEndpoint(tmp_path, startup_timeout=60).start()


def test_where_sockets_are_off_the_service_runs_in_process(onnx_export, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled while this notebook is graded")

    monkeypatch.setattr(endpoint, "request", refuse)
    served = endpoint.start_local(onnx_export.output_dir, collect_dir=tmp_path)
    assert isinstance(served, endpoint.InProcessEndpoint) and "in-process" in served.description
    assert served.score("nice")["label"] in ("negative", "positive")
    bad = served.post(b'{"inputs": 5}')
    assert bad.status == 422 and bad.json()["error"]["code"] == "wrong_type"
    report = endpoint.load_run(served, ["good", "bad"], requests=30, concurrency=2)
    assert report.ok and report.requests == 30
    assert len(monitoring.read_collected(tmp_path)) > 0


def _student_script(tmp_path):
    """The notebook's scoring-script exercise, answered by the reference: written the way the notebook writes it."""
    from finetune_kit.course import reference

    return endpoint.write_scoring_script(reference.load("deployment").run, tmp_path / "mine" / "score.py")


def test_a_scoring_script_written_from_a_cell_is_served_by_azmlinfsrv(onnx_export, tmp_path):
    script = _student_script(tmp_path)
    assert "def run(raw_data)" in script.read_text()
    with endpoint.start_local(onnx_export.output_dir, entry_script=script) as served:
        assert isinstance(served, endpoint.LocalEndpoint)
        good = served.post({"inputs": ["A wonderful film.", "Dull."]})
        assert good.status == 200 and all(p["label"] in ("positive", "negative") for p in good.json()["predictions"])
        for body, status in [(b"not json", 400), (b'{"inputs": 42}', 422), (b'{"inputs": []}', 422)]:
            reply = served.post(body)
            assert reply.status == status and isinstance(reply.json()["error"], str), (body, reply)
        assert served.alive()


def test_where_sockets_are_off_a_scoring_script_runs_in_process(onnx_export, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled while this notebook is graded")

    monkeypatch.setattr(endpoint, "request", refuse)
    served = endpoint.start_local(onnx_export.output_dir, entry_script=_student_script(tmp_path))
    assert isinstance(served, endpoint.InProcessScript) and "in-process" in served.description
    assert len(served.score(["good", "bad"])["predictions"]) == 2
    assert served.post(b'{"inputs": 5}').status == 422
    assert served.post(b"\xff\xfe").status == 400  # not UTF-8: the server's own 400, before run()


def test_write_scoring_script_needs_source():
    namespace = {}
    exec(compile("def run(raw_data):\n    return raw_data\n", "<no file>", "exec"), namespace)
    with pytest.raises(ValueError, match="run its notebook cell again"):
        endpoint.write_scoring_script(namespace["run"], "unused.py")


def test_write_scoring_script_refuses_the_unwritten_release_cell(tmp_path):
    """The hand-out's cell still raises NotImplementedError: say which step to write, start no server."""
    import linecache

    from finetune_kit.course import steps

    source = "def init():\n    raise NotImplementedError()\n\ndef run(raw_data):\n    raise NotImplementedError()\n"
    name = "<ipython-input-unwritten>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {}
    exec(compile(source, name, "exec"), namespace)
    with pytest.raises(steps.StepSkipped, match="write init"):
        endpoint.write_scoring_script(namespace["run"], tmp_path / "score.py")
    assert not (tmp_path / "score.py").exists()
