"""The endpoint from the outside: start Azure's inference server locally, call it, load-test it.

``LocalEndpoint`` runs ``azmlinfsrv`` — the HTTP server Azure ML runs inside every managed online
deployment — with ``azure/score/score.py`` on this machine, so what the tests and the notebook see
is what the cloud will do. Two differences, both on purpose: it listens on 127.0.0.1 only
(``azmlinfsrv`` itself always binds 0.0.0.0 and has no flag for it, so we start its own entry point
with the host set to loopback), and on a free port chosen for each run.

``load_run`` sends a bounded number of requests, a share of them deliberately malformed, and
reports latency percentiles and status codes: a healthy endpoint answers every bad request with a
4xx, never a 5xx, and is still up afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from finetune_kit.course.config import REPO_ROOT
from finetune_kit.deploy.serve import Limits

SCORE_SCRIPT = REPO_ROOT / "azure" / "score" / "score.py"
# azmlinfsrv's own entry point, with the host it binds changed from 0.0.0.0 to loopback first.
_LAUNCH = ("import sys; import azureml_inference_server_http.constants as c; c.DEFAULT_HOST = '127.0.0.1'; "
           "from azureml_inference_server_http.amlserver import run; sys.argv[0] = 'azmlinfsrv'; sys.exit(run())")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int
    body: bytes
    elapsed_ms: float

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, method: str = "GET", body: bytes | str | dict | list | None = None, *,
            timeout: float = 30.0, headers: dict[str, str] | None = None) -> Reply:
    """One HTTP call; ``body`` may be raw bytes (to send anything, even broken JSON) or a JSON-able value."""
    parts = urlsplit(url)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    sent_headers = {"Content-Type": "application/json"} if body is not None else {}
    sent_headers.update(headers or {})
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    start = time.perf_counter()
    try:
        conn.request(method, parts.path or "/", body=body, headers=sent_headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, data, (time.perf_counter() - start) * 1e3)
    finally:
        conn.close()


def score(url: str, inputs: str | list[str], **kwargs: Any) -> Any:
    """Classify one text or a list of texts with the endpoint at ``url`` (its ``/score`` route)."""
    return _prediction(request(url, "POST", {"inputs": inputs}, **kwargs), url)


def _prediction(reply: Reply, where: str) -> Any:
    if reply.status != 200:
        raise RuntimeError(f"{where} answered {reply.status}: {reply.body[:500].decode('utf-8', 'replace')}")
    return reply.json()


class LocalEndpoint:
    """``azmlinfsrv`` serving an ONNX export on 127.0.0.1, started and stopped by us.

    Use as a context manager; the server is stopped on exit, on errors and when Python exits::

        with LocalEndpoint(export_dir) as endpoint:
            print(endpoint.score("I loved it"))
    """

    def __init__(self, model_dir: Path | str, *, entry_script: Path | str = SCORE_SCRIPT, port: int | None = None,
                 workers: int = 1, collect_dir: Path | str | None = None, startup_timeout: float = 90.0,
                 env: dict[str, str] | None = None):
        self.model_dir = Path(model_dir).resolve()
        self.entry_script = Path(entry_script).resolve()
        self.port = port
        self.workers = workers
        self.collect_dir = Path(collect_dir) if collect_dir else None
        self.startup_timeout = startup_timeout
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.description = "azmlinfsrv (Azure ML's inference server), not started"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scoring_uri(self) -> str:
        return f"{self.base_url}/score"

    def start(self) -> LocalEndpoint:
        if self.process is not None:
            return self
        if not self.entry_script.exists():
            raise FileNotFoundError(f"{self.entry_script}: no scoring script")
        self.port = self.port or free_port()
        env = {**os.environ, "AZUREML_MODEL_DIR": str(self.model_dir), "WORKER_COUNT": str(self.workers),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
               **self.extra_env}
        if self.collect_dir is not None:
            env["FINETUNE_KIT_COLLECT_DIR"] = str(self.collect_dir)
        log = tempfile.NamedTemporaryFile("wb", prefix="azmlinfsrv-", suffix=".log", delete=False)
        self.log_path = Path(log.name)
        command = [sys.executable, "-c", _LAUNCH, "--entry_script", str(self.entry_script),
                   "--model_dir", str(self.model_dir), "--port", str(self.port)]
        # Its own process group, so stop() ends the gunicorn master and its workers together.
        self.process = subprocess.Popen(command, cwd=self.entry_script.parent, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        atexit.register(self.stop)
        self._wait_until_healthy()
        self.description = f"azmlinfsrv (Azure ML's inference server) on {self.base_url}"
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"azmlinfsrv exited with code {code}:\n{tail}")
            try:
                # The server runs init() (loads the model) before a worker takes requests: healthy = ready.
                if request(self.base_url + "/", timeout=2).status == 200:
                    return
            except PermissionError:  # sockets are switched off here (a grading sandbox): no point waiting
                self.stop()
                raise
            except OSError:
                pass
            time.sleep(0.05)
        tail = self.log_tail()
        self.stop()
        raise TimeoutError(f"azmlinfsrv did not answer within {self.startup_timeout:.0f} s:\n{tail}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        try:
            return self.process is not None and self.process.poll() is None and \
                request(self.base_url + "/", timeout=5).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """End the server's whole process group (gunicorn master and workers); wait for it. Its log
        goes with it (read ``log_tail()`` before stopping): a notebook or test suite that starts many
        servers must not leave a file in the temporary folder for each."""
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:  # already gone
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def score(self, inputs: str | list[str]) -> Any:
        return score(self.scoring_uri, inputs)

    def post(self, body: bytes | str | dict | list, timeout: float = 30.0) -> Reply:
        """POST any body to ``/score`` (raw bytes too, to see how bad input is answered)."""
        return request(self.scoring_uri, "POST", body, timeout=timeout)

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _InProcess:
    """What the in-process stand-ins for a server share: a body as bytes, and a lifecycle with nothing to stop."""

    @staticmethod
    def _bytes(body: bytes | str | dict | list) -> bytes:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        return body.encode("utf-8") if isinstance(body, str) else body

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        pass

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class InProcessEndpoint(_InProcess):
    """The same scoring service called directly, without HTTP or a server process.

    What the notebook falls back to where it may not open sockets (a grading sandbox): requests
    go through the identical validation, model and data collection, just not through azmlinfsrv.
    """

    description = "in-process (the scoring service without HTTP: sockets are not allowed here)"

    def __init__(self, model_dir: Path | str, *, collect_dir: Path | str | None = None):
        from finetune_kit.deploy import monitoring, serve

        classifier = serve.OnnxClassifier(serve.find_export_dir(model_dir))
        collector = monitoring.DataCollector(collect_dir, classifier.version) if collect_dir else None
        self.service = serve.ScoringService(classifier, collector=collector)
        self.collect_dir = Path(collect_dir) if collect_dir else None

    def post(self, body: bytes | str | dict | list, timeout: float = 30.0) -> Reply:
        data = self._bytes(body)
        start = time.perf_counter()
        status, payload = self.service.handle("POST", len(data), io.BytesIO(data).read)
        return Reply(status, json.dumps(payload).encode(), (time.perf_counter() - start) * 1e3)

    def score(self, inputs: str | list[str]) -> Any:
        return _prediction(self.post({"inputs": inputs}), "the scoring service")


class InProcessScript(_InProcess):
    """A scoring script's own ``init()`` and ``run()`` called directly, without HTTP or a server process.

    The fallback for a script other than the kit's where sockets are not allowed: the body goes to
    ``run()`` as text, as ``azmlinfsrv`` passes it to an undecorated ``run(raw_data)``, and an
    ``AMLResponse`` (or any Flask response) keeps its status; anything else is a 200 with its JSON.
    """

    description = "in-process (your score.py's init() and run() without HTTP: sockets are not allowed here)"

    def __init__(self, model_dir: Path | str, entry_script: Path | str):
        import importlib.util

        self.entry_script = Path(entry_script)
        spec = importlib.util.spec_from_file_location(f"score_{abs(hash(str(self.entry_script)))}", self.entry_script)
        self.module = importlib.util.module_from_spec(spec)
        previous = os.environ.get("AZUREML_MODEL_DIR")
        os.environ["AZUREML_MODEL_DIR"] = str(Path(model_dir).resolve())
        try:
            spec.loader.exec_module(self.module)
            self.module.init()
        finally:
            if previous is None:
                os.environ.pop("AZUREML_MODEL_DIR", None)
            else:
                os.environ["AZUREML_MODEL_DIR"] = previous

    def post(self, body: bytes | str | dict | list, timeout: float = 30.0) -> Reply:
        data = self._bytes(body)
        start = time.perf_counter()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:  # what azmlinfsrv answers before run() sees the body
            return Reply(400, json.dumps({"message": f"Input cannot be decoded as UTF-8: {err}"}).encode(), 0.0)
        try:
            result = self.module.run(text)
        except Exception as err:  # noqa: BLE001 - the server's answer to a crash in run()
            status, payload = 500, json.dumps({"message": f"run() raised {type(err).__name__}: {err}"}).encode()
        else:
            if hasattr(result, "status_code") and hasattr(result, "get_data"):
                status, payload = int(result.status_code), result.get_data()
            else:
                status, payload = 200, json.dumps(result).encode()
        return Reply(status, payload, (time.perf_counter() - start) * 1e3)

    def score(self, inputs: str | list[str]) -> Any:
        return self.post({"inputs": inputs}).json()


def write_scoring_script(run_function: Any, path: Path | str) -> Path:
    """Save the notebook cell that defined ``run_function`` as a scoring script at ``path``.

    IPython keeps each cell's source in ``linecache`` under the file name it compiled the cell with,
    which is also ``run_function.__code__.co_filename``: the whole cell (imports, ``init``, ``run`` and
    any helper) becomes ``score.py``, exactly as written.
    """
    import linecache

    lines = linecache.getlines(run_function.__code__.co_filename)
    if not lines:
        raise ValueError(f"no source for {run_function.__name__}() (defined in "
                         f"{run_function.__code__.co_filename!r}): run its notebook cell again")
    if any("raise NotImplementedError" in line for line in lines):  # the release's placeholder is still there
        from finetune_kit.course.steps import StepSkipped

        raise StepSkipped(f"the cell that defines {run_function.__name__}() still raises NotImplementedError: "
                          "write init() and run() first (their test says what is missing)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines).rstrip("\n") + "\n")
    return path


def start_local(model_dir: Path | str, *, collect_dir: Path | str | None = None,
                entry_script: Path | str = SCORE_SCRIPT,
                **kwargs: Any) -> LocalEndpoint | InProcessEndpoint | InProcessScript:
    """``LocalEndpoint`` if this process may use loopback sockets, else the same script called in-process
    (``InProcessEndpoint`` for the kit's ``score.py``, ``InProcessScript`` for another one).

    Either way the result has ``description``, ``post``, ``score``, ``alive`` and ``stop``.
    """
    server = LocalEndpoint(model_dir, collect_dir=collect_dir, entry_script=entry_script, **kwargs)
    try:
        server.start()
    except PermissionError:
        if Path(entry_script).resolve() != SCORE_SCRIPT.resolve():
            return InProcessScript(model_dir, entry_script)
        return InProcessEndpoint(model_dir, collect_dir=collect_dir)
    return server


DEPLOY_SPECS = REPO_ROOT / "azure" / "deploy"


def load_azure_specs(folder: Path | str = DEPLOY_SPECS) -> tuple[Any, Any]:
    """``endpoint.yml`` and ``deployment.yml`` parsed and validated by azure-ai-ml, offline (no workspace).

    azure-ai-ml logs a warning that the data-collector classes are "experimental"; that is not
    news here, so it is silenced while loading. Its check for whether to warn walks the whole call
    stack with ``inspect.stack()``, reading the source of every frame: in a notebook kernel that is
    most of the load's time, so the check is skipped as well (it only ever decides to stay quiet).
    """
    import logging
    from unittest import mock

    from azure.ai.ml import load_online_deployment, load_online_endpoint
    from azure.ai.ml._utils import _experimental

    folder = Path(folder)
    experimental = logging.getLogger(_experimental.__name__)
    level = experimental.level
    experimental.setLevel(logging.ERROR)
    quiet = mock.patch.object(_experimental, "_should_skip_warning", lambda: True) \
        if hasattr(_experimental, "_should_skip_warning") else contextlib.nullcontext()
    try:
        with quiet:
            return (load_online_endpoint(source=folder / "endpoint.yml"),
                    load_online_deployment(source=folder / "deployment.yml"))
    finally:
        experimental.setLevel(level)


# --- load -----------------------------------------------------------------------------------------

def malformed_requests(limits: Limits | None = None) -> dict[str, bytes]:
    """Bodies a robust endpoint must answer with a 4xx (name -> raw body), one of each kind."""
    limits = limits or Limits()
    return {
        "empty body": b"",
        "invalid JSON": b'{"inputs": ["unterminated',
        "not UTF-8": b'{"inputs": "\xff\xfe"}',
        "JSON array, not object": b'["I loved it"]',
        "no inputs field": b'{"text": "I loved it"}',
        "inputs is a number": b'{"inputs": 42}',
        "a non-string item": b'{"inputs": ["fine", 3]}',
        "empty string": b'{"inputs": "   "}',
        "empty list": b'{"inputs": []}',
        "too many items": json.dumps({"inputs": ["ok"] * (limits.max_items + 1)}).encode(),
        "text too long": json.dumps({"inputs": "word " * (limits.max_chars // 5 + 1)}).encode(),
        "several-MB text": json.dumps({"inputs": "great " * 500_000}).encode(),  # 3 MB
    }


@dataclass
class LoadReport:
    requests: int
    seconds: float
    concurrency: int
    status_counts: dict[str, int]
    latency_ms: dict[str, float]  # p50/p95/p99 of all requests
    valid_latency_ms: dict[str, float]  # the same for the well-formed ones
    server_errors: int  # 5xx answers
    connection_errors: int  # no answer at all (reset, timeout)
    unexpected: int  # a good request not answered 200, or a bad one not answered 4xx
    server_alive_after: bool
    examples: dict[str, str] = field(default_factory=dict)  # one error message per malformed kind

    @property
    def ok(self) -> bool:
        return not (self.server_errors or self.connection_errors or self.unexpected) and self.server_alive_after

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "requests_per_second": round(self.requests / self.seconds, 1)}

    def summary(self) -> str:
        lat, good = self.latency_ms, self.valid_latency_ms
        return "\n".join([
            f"{self.requests} requests in {self.seconds:.1f} s ({self.requests / self.seconds:.0f}/s), "
            f"{self.concurrency} client threads",
            f"latency, all requests : p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms",
            f"latency, valid only   : p50 {good['p50']:.1f} ms, p95 {good['p95']:.1f} ms, p99 {good['p99']:.1f} ms",
            f"status codes          : {dict(sorted(self.status_counts.items()))}",
            f"5xx: {self.server_errors}   no answer: {self.connection_errors}   wrong status: {self.unexpected}   "
            f"server alive afterwards: {self.server_alive_after}   -> {'OK' if self.ok else 'PROBLEMS'}",
        ])


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    arr = np.asarray(values)
    return {f"p{q}": round(float(np.percentile(arr, q)), 2) for q in (50, 95, 99)}


def load_run(target: LocalEndpoint | InProcessEndpoint, texts: list[str], *, requests: int = 2000,
             malformed_share: float = 0.2,
             batch_share: float = 0.2, concurrency: int = 4, seed: int = 0, timeout: float = 30.0,
             max_seconds: float = 600.0) -> LoadReport:
    """Send ``requests`` requests (bounded in count and time) and report what came back.

    Each request is, at random: a malformed body (``malformed_share``), a batch of 2–16 texts
    (``batch_share``) or a single text. Nothing is retried.
    """
    if not texts:
        raise ValueError("load_run needs texts to send")
    rng = np.random.default_rng(seed)
    bad = malformed_requests()
    bad_names = list(bad)
    plan: list[tuple[str, bytes]] = []
    for _ in range(requests):
        roll = rng.random()
        if roll < malformed_share:
            name = bad_names[int(rng.integers(len(bad_names)))]
            plan.append((name, bad[name]))
        elif roll < malformed_share + batch_share:
            picks = rng.choice(len(texts), size=int(rng.integers(2, 17)))
            plan.append(("batch", json.dumps({"inputs": [texts[i] for i in picks]}).encode()))
        else:
            plan.append(("single", json.dumps({"inputs": texts[int(rng.integers(len(texts)))]}).encode()))

    deadline = time.monotonic() + max_seconds

    def send(item: tuple[str, bytes]) -> tuple[str, int, float, bytes]:
        kind, body = item
        if time.monotonic() > deadline:
            return kind, -2, 0.0, b""  # not sent: the run hit its time bound
        try:
            reply = target.post(body, timeout=timeout)
            return kind, reply.status, reply.elapsed_ms, reply.body
        except OSError:
            return kind, -1, 0.0, b""

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(send, plan))
    seconds = time.perf_counter() - start

    sent = [r for r in results if r[1] != -2]
    statuses = Counter(str(status) if status > 0 else "no answer" for _, status, _, _ in sent)
    unexpected = sum(1 for kind, status, _, _ in sent if status > 0 and
                     ((kind in ("single", "batch") and status != 200) or (kind in bad and not 400 <= status < 500)))
    examples = {}
    for kind, status, _, body in sent:
        if kind in bad and kind not in examples and 400 <= status < 500:
            examples[kind] = f"{status} {body.decode('utf-8', 'replace')[:160]}"
    alive = target.alive()
    return LoadReport(
        requests=len(sent), seconds=seconds, concurrency=concurrency, status_counts=dict(statuses),
        latency_ms=_percentiles([ms for _, s, ms, _ in sent if s > 0]),
        valid_latency_ms=_percentiles([ms for k, s, ms, _ in sent if s > 0 and k in ("single", "batch")]),
        server_errors=sum(1 for _, s, _, _ in sent if s >= 500), connection_errors=statuses.get("no answer", 0),
        unexpected=unexpected, server_alive_after=alive, examples=examples)
