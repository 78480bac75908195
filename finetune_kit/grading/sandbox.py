"""Confinement for student code: resource limits, no network, a private view of the file system.

nbgrader runs a student's notebook in a Jupyter kernel with the grader's own permissions. Here the
grading of each student happens in a worker process started through Debian's ``bwrap`` (bubblewrap,
``full`` isolation where it is installed) or ``unshare`` (then the worker mounts its view itself), and the
kernel is started by ``SandboxKernelManager``; together they give three levels, the best one available wins:

=========  =======================================================================================
``full``   root with ``unshare``: the worker gets its own network (only a loopback), mount and PID
           namespaces. ``/tmp`` is the job's scratch folder, ``/dev/shm`` and ``/var/tmp`` are empty,
           and the instructor's tree (the output folder with every gradebook and submission, the
           submissions download, everything in the repository but the package, data and
           environment, the folders next to it, ``$HOME``, and every top-level folder that is not part
           of the operating system, such as ``/work``, ``/home`` or ``/srv``, where other copies of the
           course may lie) is covered by empty read-only mounts.
           The kernel runs under a uid of its own (``UID_BASE`` + worker slot, no groups), so it
           can write nothing but its home folder, cannot read the worker's course copy or private
           gradebook, and cannot signal another student's kernel.
``user``   no root but unprivileged user namespaces: the same namespaces and hidden folders, but
           the kernel keeps the instructor's uid (it could undo the mounts or write where the
           instructor can; it still cannot reach the network or see other jobs' processes).
``none``   neither: resource limits only, and an audit hook in the kernel refuses Python sockets
           (native code and subprocesses bypass it). Never chosen automatically: it must be asked for.
=========  =======================================================================================

At every level the kernel gets ``setrlimit`` limits (address space, processes, file size, CPU time,
open files, no core dumps), a scratch working directory and home, a clean environment pinned to the
grading profile, and dies with its worker (``PR_SET_PDEATHSIG``); a worker dies with the parent.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Instance

from finetune_kit.course.config import DATA_DIR, REPO_ROOT
from finetune_kit.course.handout import CONTENTS
from finetune_kit.grading.prefork import Prefork, forking_launcher

ISOLATION_LEVELS = ("full", "user", "none")
#: First uid of the kernels' throw-away users (one per worker slot); far from real and container ids.
UID_BASE = 1_500_000_000
#: Entries of the repository a kernel may see: what a student has (the hand-out's contents, ``handout``),
#: plus the editable install's metadata and the README it names.
VISIBLE_IN_REPO = frozenset(CONTENTS) | {"finetune_kit.egg-info", "README.md"}

#: Top-level folders of the operating system a kernel may see; every other one (``/work``, ``/home``,
#: ``/srv``, ``/opt``, ``/run`` with its sockets ...) is covered, keeping only what ``needed_paths`` lists.
SYSTEM_DIRS = frozenset({"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys",
                         "tmp", "usr", "var"})

_UNSHARE = {
    "full": ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"],
    "user": ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child",
             "--mount-proc"],
    "none": [],
}
_GIB, _MIB = 2**30, 2**20


@dataclass(frozen=True)
class Limits:
    """What one notebook may use. Every field is a command-line option of ``grade``."""

    cell_timeout: int = 120  # seconds per cell (nbgrader's Execute.timeout), then the kernel is interrupted
    notebook_timeout: int = 600  # seconds of wall time per notebook; cells left then are not run
    memory_bytes: int = 8 * _GIB  # RLIMIT_AS (virtual) of the kernel: a memory bomb gets MemoryError;
    # torch reserves a lot of address space: Part 3 (training, then ONNX export) needs more than 4G
    processes: int = 256  # RLIMIT_NPROC (threads count too)
    file_bytes: int = 512 * _MIB  # RLIMIT_FSIZE: the biggest file the kernel may write
    home_bytes: int = 1 * _GIB  # size of the tmpfs each assignment's home is (full and user isolation)
    cpu_seconds: int = 900  # RLIMIT_CPU of a kernel, a backstop behind the timeouts
    open_files: int = 1024  # RLIMIT_NOFILE
    output_bytes: int = 1 * _MIB  # output kept per cell; the rest is dropped as it arrives
    threads: int = 0  # OMP/MKL threads per kernel (0: cores / parallel workers, so they never oversubscribe)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_size(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5G"`` or a number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M or a number of bytes)")
    return int(float(match[1]) * 1024 ** " kmgt".index(match[2] or " "))


def _unshare_works(args: list[str]) -> bool:
    if not args or shutil.which(args[0]) is None:
        return False
    try:
        return subprocess.run([*args, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect_isolation(requested: str = "auto") -> str:
    """The strongest sandbox this machine allows (``auto``), or ``requested`` if it is available.

    ``auto`` never settles for ``none``: grading hostile notebooks unconfined must be asked for.
    """
    if requested not in ("auto", *ISOLATION_LEVELS):
        raise ValueError(f"isolation must be auto, {', '.join(ISOLATION_LEVELS)}; got {requested!r}")
    if requested == "none":
        return "none"
    candidates = ("full", "user") if requested == "auto" else (requested,)
    for level in candidates:
        if (level == "full" and os.geteuid() == 0 and _unshare_works(_UNSHARE["full"])) \
                or (level == "user" and _unshare_works(_UNSHARE["user"])):
            return level
    if requested == "auto":
        raise ValueError("no sandbox is available here (it needs root with `unshare`, or unprivileged user "
                         "namespaces); pass --isolation none to grade anyway: student code then runs with "
                         "your permissions (docs/grading.md)")
    raise ValueError(f"isolation {requested!r} is not available here "
                     f"({'needs root and unshare' if requested == 'full' else 'needs unprivileged user namespaces'})")


#: ``unshare`` forces today's hand-made confinement even where bubblewrap is installed (tests, comparisons).
CONFINE_ENV = "FINETUNE_KIT_CONFINE"
#: Set inside a worker that bubblewrap already confined: its namespaces and private view are in place.
CONFINED_ENV = "FINETUNE_KIT_CONFINED"


def bubblewrap() -> str | None:
    """Debian's ``bwrap`` if it is installed, works here (``full`` isolation runs it as root) and is not
    turned off with ``FINETUNE_KIT_CONFINE=unshare``; else None, and ``unshare`` plus the worker's own
    mounts (``private_view``) confine it the same way."""
    path = shutil.which("bwrap")
    if os.environ.get(CONFINE_ENV, "auto") == "unshare" or path is None:
        return None
    return path if _unshare_works([path, "--dev-bind", "/", "/", "--unshare-net", "--unshare-pid",
                                   "--die-with-parent", "--cap-add", "ALL"]) else None


def worker_command(level: str, folder: Path, plan: dict[str, list[str]], argv: list[str]) -> list[str]:
    """The command that starts a worker for the slot ``folder``: dying with the grader, in its namespaces.

    Under ``full`` isolation with bubblewrap, bwrap builds the worker's view itself (``bwrap_view``) and
    the worker sees its slot as ``/tmp``; otherwise ``unshare`` gives the namespaces (``worker_prefix``:
    ``setpriv --pdeathsig``, set in C rather than a ``preexec_fn``, which is unsafe in the parent's threads)
    and the worker mounts its view (``private_view``). ``argv`` is the worker's own command; its last item
    is the slot folder.
    """
    bwrap = bubblewrap() if level == "full" else None
    if bwrap:
        return [bwrap, *bwrap_view(folder, plan), *argv[:-1], "/tmp"]
    return [*worker_prefix(level), *argv]


def worker_prefix(level: str) -> list[str]:
    """Without bubblewrap: ``unshare`` into the level's namespaces, dying with the grader."""
    prefix = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return prefix + list(_UNSHARE[level])


def bwrap_view(scratch: Path, plan: dict[str, list[str]]) -> list[str]:
    """bwrap's arguments for what ``private_view`` mounts by hand: new network (a loopback only), PID and IPC
    namespaces, death with the grader, ``scratch`` as ``/tmp``, empty ``/dev/shm`` and ``/var/tmp``, the
    plan's folders covered by empty read-only ones with what is needed mounted back read-only. The worker
    keeps its capabilities (it mounts each student's bounded home and drops kernels to their own uid)."""
    args = ["--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--cap-add", "ALL",
            "--dev-bind", "/", "/", "--proc", "/proc", "--bind", str(scratch), "/tmp"]
    for target in ("/dev/shm", "/var/tmp"):
        if Path(target).is_dir():
            args += ["--perms", "1777", "--size", str(256 * _MIB), "--tmpfs", target]
    covered = [f for f in plan["cover"] if Path(f).exists()]
    for folder in covered:
        args += ["--perms", "0755", "--size", str(_MIB), "--tmpfs", folder]
    made: set[Path] = set()
    for path in plan["keep"]:  # sources are read from the real file system, so /tmp's are still there
        for parent in reversed(Path(path).parents):  # folders on the way: traversable (bwrap makes them 0700)
            inside = [c for c in (*covered, "/tmp") if parent != Path(c) and parent.is_relative_to(c)]
            if inside and parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", path, path]
    for folder in covered:
        args += ["--remount-ro", folder]
    return [*args, "--chdir", "/tmp", "--setenv", CONFINED_ENV, "bubblewrap"]


# -- process helpers -------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
try:  # resolved once, so the forked child in a preexec_fn only makes a plain call
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: the timeouts still apply
    _PRCTL = None


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def processes_of(uid: int) -> list[int]:
    """Pids owned by ``uid`` (as /proc shows them: inside a PID namespace, only its own)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_user(uid: int) -> int:
    """SIGKILL every process of a sandbox uid (daemons a notebook left behind); returns how many."""
    killed = 0
    for pid in processes_of(uid):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


# -- inside the worker: namespaces and hidden folders --------------------------------------------------

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_MOVE = 1, 2, 4, 32, 4096, 8192
_MS_REC, _MS_PRIVATE = 16384, 1 << 18


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)  # the trusted worker, single-threaded at this point
    args = [source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
            data.encode() if data else None]
    if libc.mount(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def bound_home(home: Path, size: int) -> None:
    """Make ``home`` a tmpfs of ``size`` bytes (inside the worker's mount namespace): a notebook that
    fills its home fills only that, never the disk that holds the gradebook and the other students."""
    home.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", str(home), "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=0755,size={int(size)}")


def release_home(home: Path) -> bool:
    """Unmount a ``bound_home`` (its files go with it); True if it was full when released."""
    stats = os.statvfs(home)
    full = stats.f_bavail * stats.f_frsize < max(1, stats.f_blocks * stats.f_frsize) * 0.01
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(str(home).encode(), 2) != 0:  # MNT_DETACH: a file still open does not block it
        err = ctypes.get_errno()
        raise OSError(err, f"umount {home}: {os.strerror(err)}")
    return full


def loopback_up() -> None:
    """A new network namespace has ``lo`` down; the kernel's channels and local servers need it."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14s", b"lo", 0, b"\0" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, siocgifflags, req))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14s", b"lo", flags | iff_up, b"\0" * 14))


def needed_paths() -> list[Path]:
    """What a kernel must still see: Python, the environment, the kit's package and data."""
    import site
    import sysconfig

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent, DATA_DIR,
             Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"])}
    paths |= {Path(p) for p in site.getsitepackages()}
    paths |= {REPO_ROOT / name for name in VISIBLE_IN_REPO}
    resolved = sorted({p.resolve() for p in paths if p.exists()})
    return [p for p in resolved if not any(p != q and p.is_relative_to(q) for q in resolved)]


def visibility_plan(extra: list[Path], readable: list[Path] = ()) -> dict[str, list[str]]:
    """Which folders a kernel must not see (``cover``) and what inside them it needs (``keep``).

    Covered are the repository, the folder holding it (other projects next to the course),
    ``$HOME``, ``extra`` (the output folder, the submissions) and every top-level folder outside
    ``SYSTEM_DIRS``: an instructor's disk may hold other copies of the course anywhere (seen in CI: a
    second checkout in ``/work`` while the graded one was elsewhere). A covered folder is replaced by an
    empty one into which the needed paths below it (the package, data, the virtual environment, a
    Python installed under ``$HOME``) are mounted back read-only, so the kernel can reach exactly those.
    Nothing under ``/tmp`` is listed: the job's scratch folder replaces all of it. ``readable`` are
    folders of the grader's that kernels may read (the run cache), mounted back read-only like the kit.
    """
    candidates = {REPO_ROOT.resolve(), *(Path(p).resolve() for p in extra)}
    candidates.add(REPO_ROOT.resolve().parent)
    candidates.add(Path(os.path.expanduser("~")).resolve())
    candidates |= {entry for entry in Path("/").iterdir()
                   if entry.name not in SYSTEM_DIRS and entry.is_dir() and not entry.is_symlink()}
    candidates = {c for c in candidates if c != Path("/") and not c.is_relative_to("/tmp")}
    needed = needed_paths()
    for path in extra:
        inside = [n for n in needed if Path(path).resolve().is_relative_to(n)]
        if inside:
            raise ValueError(f"{path} is inside {inside[0]}, which student code can read: "
                             "keep grading output and submissions outside the kit's package, data and environment")
    candidates = {c for c in candidates if c.exists() and not any(c.is_relative_to(n) for n in needed)}
    cover = sorted(c for c in candidates if not any(c != o and c.is_relative_to(o) for o in candidates))
    needed += [Path(r).resolve() for r in readable if Path(r).exists()]
    keep = [n for n in needed if n.is_relative_to("/tmp") or any(n.is_relative_to(c) for c in cover)]
    return {"cover": [str(c) for c in cover], "keep": [str(k) for k in keep]}


def private_view(scratch: Path, plan: dict[str, list[str]]) -> Path:
    """Inside the worker's mount namespace: scratch becomes ``/tmp``; the plan's folders are covered.

    Returns the scratch folder's new path (``/tmp``).
    """
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE)  # nothing mounted here shows on the host
    # Hold on to what is needed before /tmp and the covered folders hide it (the kit and its .venv
    # may themselves lie under /tmp): each is bound into the scratch folder, which then becomes /tmp
    # together with those mounts.
    staging = scratch / ".keep"
    staging.mkdir(mode=0o700, exist_ok=True)
    keep = [Path(k) for k in plan["keep"]]
    for i, path in enumerate(keep):
        spot = staging / str(i)
        spot.mkdir(exist_ok=True) if path.is_dir() else spot.touch()
        _mount(str(path), str(spot), None, _MS_BIND | _MS_REC)
    _mount(str(scratch), "/tmp", None, _MS_BIND | _MS_REC)
    staging = Path("/tmp/.keep")
    for target in ("/dev/shm", "/var/tmp"):
        if Path(target).is_dir():
            _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777,size=256m")
    covered = [f for f in plan["cover"] if Path(f).exists()]
    for folder in covered:
        _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=755,size=1m")
    for i, path in enumerate(keep):
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir(mode=0o755)
        if not path.exists():
            path.mkdir(mode=0o755) if (staging / str(i)).is_dir() else path.touch()
        _mount(str(staging / str(i)), str(path), None, _MS_MOVE)
        _mount("none", str(path), None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY)
    for folder in covered:
        _mount("none", folder, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir("/tmp")
    return Path("/tmp")


# -- the kernel ------------------------------------------------------------------------------------

@dataclass
class Jail:
    """Where and as whom one kernel runs."""

    home: Path  # the kernel's HOME; it may write only here (and in its TMPDIR inside)
    cwd: Path  # working directory: a copy of the assignment's released files
    limits: Limits
    uid: int | None = None  # dropped uid (``full`` isolation), None = keep ours
    block_network: bool = False  # ``none`` isolation: the guard adds an audit hook
    profile: str = "smoke"
    extra_env: dict[str, str] = field(default_factory=dict)

    def prepare(self) -> None:
        for folder in (self.home, self.home / "tmp", self.cwd):
            folder.mkdir(parents=True, exist_ok=True)
        if self.uid is not None:
            for root, dirs, files in os.walk(self.home):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, self.uid, self.uid)
            os.chmod(self.home, 0o700)

    def env(self) -> dict[str, str]:
        """A clean environment: nothing of the grader's leaks in, the grading profile is pinned."""
        threads = str(self.limits.threads or 1)
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home), "TMPDIR": str(self.home / "tmp"), "USER": "student", "LOGNAME": "student",
            "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "MPLCONFIGDIR": str(self.home / ".config" / "matplotlib"), "IPYTHONDIR": str(self.home / ".ipython"),
            "XDG_CACHE_HOME": str(self.home / ".cache"), "HF_HOME": str(self.home / ".cache" / "huggingface"),
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
            "FINETUNE_KIT_PROFILE": self.profile, "NBGRADER_EXECUTION": "autograde",
            "FINETUNE_KIT_OUTPUTS": str(self.home / "outputs"),
        }
        if os.environ.get("FINETUNE_KIT_DATA"):
            env["FINETUNE_KIT_DATA"] = os.environ["FINETUNE_KIT_DATA"]
        env.update(self.extra_env)
        return env

    def process_limit(self) -> int:
        """RLIMIT_NPROC counts every process of the uid: ours when the kernel keeps our uid."""
        extra = 0 if self.uid is not None else len(processes_of(os.getuid()))
        return self.limits.processes + extra

    def rlimits(self, nproc: int) -> list[tuple[int, int, int]]:
        """(resource, soft, hard) for the kernel: address space, processes, file size, files, core, CPU."""
        lim = self.limits
        fixed = [(resource.RLIMIT_AS, lim.memory_bytes), (resource.RLIMIT_NPROC, nproc),
                 (resource.RLIMIT_FSIZE, lim.file_bytes), (resource.RLIMIT_NOFILE, lim.open_files),
                 (resource.RLIMIT_CORE, 0)]
        return [(which, value, value) for which, value in fixed] + [
            (resource.RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 5)]

    def preexec(self, nproc: int) -> None:
        """Runs in the forked kernel process before exec: limits, then the uid, then the death signal.

        Only plain system calls here: the worker may have other threads when it forks.
        """
        for which, soft, hard in self.rlimits(nproc):
            resource.setrlimit(which, (soft, hard))
        if self.uid is not None:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)
        die_with_parent()  # after the uid change, which would clear it

    def kill_leftovers(self) -> int:
        return kill_user(self.uid) if self.uid is not None else 0


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel inside a ``Jail``: its cwd, environment, uid and limits.

    With a ``prefork`` process (``finetune_kit.grading.prefork``) the kernel is forked from it,
    libraries already imported; if that fails the kernel is launched the ordinary way.
    """

    jail = Instance(Jail, allow_none=True, help="where and as whom the kernel runs (the worker sets one per "
                                                "assignment)").tag(config=True)
    prefork = Instance(Prefork, allow_none=True, help="the slot's prefork process (None: launch each kernel "
                                                      "the ordinary way)").tag(config=True)

    async def _async_pre_start_kernel(self, **kw):  # noqa: ANN001, ANN202 - jupyter_client's signature
        jail = self.jail
        if jail is None:
            raise RuntimeError("SandboxKernelManager.jail is not configured")
        kw["cwd"] = str(jail.cwd)
        kw["env"] = jail.env()
        # The connection file holds the channel keys; the kernel (another uid) must read it.
        self.connection_file = str(jail.home / f"kernel-{uuid.uuid4().hex[:12]}.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):  # noqa: ANN001, ANN202
        jail = self.jail
        if jail.uid is not None:
            os.chown(self.connection_file, jail.uid, jail.uid)
        nproc = jail.process_limit()
        kw["preexec_fn"] = lambda: jail.preexec(nproc)
        kw["stdout"] = kw["stderr"] = subprocess.DEVNULL  # a student's os.write(1, ...) goes nowhere
        factory, provisioner = self.prefork, self.provisioner
        if factory is not None and not factory.dead and isinstance(provisioner, LocalProvisioner):
            provisioner.launch_kernel = forking_launcher(provisioner, factory, jail.rlimits(nproc), jail.uid)
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def exit_status(self) -> int | None:
        """The kernel process's exit status once it died (negative: killed by that signal)."""
        process = getattr(self.provisioner, "process", None)
        return process.poll() if process is not None else None


def describe_exit(status: int | None) -> str:
    """Why a kernel died, in words an instructor can act on."""
    reasons = {signal.SIGKILL: "killed (SIGKILL: memory, CPU hard limit or the grader)",
               signal.SIGXCPU: "CPU time limit reached", signal.SIGXFSZ: "file size limit reached",
               signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted"}
    if status is None:
        return "the kernel stopped responding"
    if status < 0:
        return reasons.get(-status, f"killed by signal {-status}")
    return f"the kernel process exited with status {status} (os._exit or a crash)"
