"""Does the sandbox confine student code, and does the guard give tests pristine Python?"""

import builtins
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT
from finetune_kit.grading import guard, sandbox


def test_sizes_and_levels():
    assert sandbox.parse_size("4G") == 4 * 2**30
    assert sandbox.parse_size("512m") == 512 * 2**20
    assert sandbox.parse_size("1.5GiB") == int(1.5 * 2**30)
    with pytest.raises(ValueError, match="not a size"):
        sandbox.parse_size("lots")
    with pytest.raises(ValueError, match="isolation must be"):
        sandbox.detect_isolation("bogus")
    assert sandbox.detect_isolation("none") == "none"


def test_visibility_plan_covers_the_instructor_tree_and_keeps_the_kit(tmp_path):
    (tmp_path / "run-cache").mkdir()
    plan = sandbox.visibility_plan([tmp_path], readable=[tmp_path / "run-cache"])
    cover, keep = map(lambda k: [os.path.realpath(p) for p in plan[k]], ("cover", "keep"))
    repo = os.path.realpath(ROOT)
    hidden = [*cover, "/tmp"]  # a repository under /tmp is hidden by the job's scratch folder
    assert any(repo == c or repo.startswith(c + os.sep) for c in hidden), "the repository must be covered"
    top = "/" + repo.split(os.sep)[1]
    assert top in cover or top == "/tmp", "other copies of the course may lie next to it: its top folder is covered"
    assert not any(c == "/tmp" or c.startswith("/tmp/") for c in cover), "the job's scratch replaces /tmp"
    assert not any(os.path.basename(c) in sandbox.SYSTEM_DIRS for c in cover if os.path.dirname(c) == "/")
    assert os.path.realpath(ROOT / "finetune_kit") in keep and os.path.realpath(sys.prefix) in keep
    assert os.path.realpath(tmp_path / "run-cache") in keep, "the grader's run cache is shown read-only"
    inside = [Path(k).relative_to(repo).parts[0] for k in keep if Path(k).is_relative_to(repo)]
    assert inside and not {"solutions", "autograde", ".git", "tests"} & set(inside), inside


def test_sealed_tests_and_proofs():
    secret, other = b"s" * 32, b"t" * 32
    source = 'assert q1 == "A"  # hidden'
    sealed = guard.seal(secret, "n1", source)
    assert "q1" not in sealed and guard.unseal(secret, "n1", sealed) == source
    assert guard.seal(secret, "n2", source) != sealed
    assert guard.proof(secret, "q1_tests", "n1") != guard.proof(other, "q1_tests", "n1")
    assert guard.proof(secret, "q1_tests", "n1") != guard.proof(secret, "q2_tests", "n1")


def test_builtins_are_put_back():
    pristine = dict(vars(builtins))
    real_sum = builtins.sum
    try:
        builtins.sum = lambda *args: 42
        builtins.fk_added_by_student = True
        repairs = guard._restore_builtins(pristine)
    finally:
        builtins.sum = real_sum
        vars(builtins).pop("fk_added_by_student", None)
    assert builtins.sum is real_sum and not hasattr(builtins, "fk_added_by_student")
    assert "builtins.sum was replaced" in repairs and "builtins.fk_added_by_student was added" in repairs


def test_patched_kit_helpers_are_healed():
    from finetune_kit.tasks import architectures

    keeper = guard._ModuleKeeper()  # learns the genuine modules, as the guard's first cell does
    real_forward, real_code, real_tasks = architectures.forward_once, architectures.tiny_model.__code__, \
        architectures.TASKS
    try:
        architectures.forward_once = lambda model, task: {"kind": "label scores", "shape": (1, 2)}
        architectures.tiny_model.__code__ = (lambda task, model_class: None).__code__
        architectures.TASKS = {"sentiment-analysis": None}
        repairs = keeper.heal()
        assert architectures.tiny_model.__code__ == real_code
        assert architectures.forward_once.__code__ == real_forward.__code__
        assert set(architectures.TASKS) == set(real_tasks)
        assert any("forward_once" in r for r in repairs) and any("tiny_model" in r for r in repairs)
        assert keeper.heal() == []  # nothing left to repair
    finally:
        architectures.forward_once, architectures.TASKS = real_forward, real_tasks
        architectures.tiny_model.__code__ = real_code


def test_a_kept_twin_still_heals_and_one_that_repaired_is_not_trusted_again():
    """Twins are kept between test cells while they repair nothing; once a repair has put a twin's
    object into the live module, student code holds it, so the next test needs a new twin."""
    from finetune_kit.tasks import architectures

    keeper = guard._ModuleKeeper()
    assert keeper.heal() == [] and "finetune_kit.tasks.architectures" in guard._TWINS  # clean: the twin is kept
    real_tasks = architectures.TASKS
    try:
        architectures.TASKS = {"sentiment-analysis": None}
        assert any("TASKS" in r for r in keeper.heal())  # the kept twin heals
        architectures.TASKS.clear()  # the dict the repair put there came from the twin
        assert any("TASKS" in r for r in keeper.heal()), "a twin whose objects reached the module was reused"
        assert set(architectures.TASKS) == set(real_tasks)
    finally:
        architectures.TASKS = real_tasks


def test_audit_hook_fallback_refuses_sockets():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = textwrap.dedent(f"""
            import socket
            from finetune_kit.grading import guard
            socket.create_connection(("127.0.0.1", {port}), timeout=5).close()  # allowed before
            guard._block_network()
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=5)
            except PermissionError as err:
                print("refused:", err)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "refused: network access is disabled" in out.stdout, out.stderr


PROBE = textwrap.dedent("""
    import json, os, resource, socket, sys
    args = json.loads(sys.argv[1])
    out = {"uid": os.getuid(), "as": resource.getrlimit(resource.RLIMIT_AS)[0],
           "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0]}
    try:
        socket.create_connection(("127.0.0.1", args["port"]), timeout=3).close()
        out["net"] = "connected"
    except OSError as err:
        out["net"] = type(err).__name__
    for name in ("secret", "answer_key", "kit", "cache"):
        try:
            out[name] = len(open(args[name]).read())
        except OSError as err:
            out[name] = type(err).__name__
    for name, path in {"home": os.path.expanduser("~/x"), "scratch": "/tmp/x", "cache": args["cache"]}.items():
        try:
            open(path, "w").write("x")
            out["write_" + name] = "ok"
        except OSError as err:
            out["write_" + name] = type(err).__name__
    print(json.dumps(out))
""")

CONFINED = textwrap.dedent("""
    import json, os, subprocess, sys
    from pathlib import Path
    from finetune_kit.grading import sandbox
    scratch, plan, probe, args = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
    if os.environ.get(sandbox.CONFINED_ENV) != "bubblewrap":  # else bwrap built the view already
        sandbox.loopback_up()
        scratch = sandbox.private_view(scratch, plan)
    jail = sandbox.Jail(home=scratch / "home", cwd=scratch / "home" / "work", limits=sandbox.Limits(),
                        uid=sandbox.UID_BASE + 7)
    jail.prepare()
    nproc = jail.process_limit()
    child = subprocess.run([sys.executable, "-c", probe, args], env=jail.env(), cwd=jail.cwd,
                           capture_output=True, text=True, preexec_fn=lambda: jail.preexec(nproc))
    print(child.stdout or child.stderr)
""")


@pytest.mark.parametrize("confinement", ["unshare", "bubblewrap"])
def test_full_isolation_confines_a_kernel_process(tmp_path, confinement):
    """The same view and limits whether bubblewrap builds the worker's view or the worker mounts it itself."""
    if sandbox.detect_isolation() != "full":
        pytest.skip("full isolation needs root and unshare (docs/grading.md)")
    bwrap = sandbox.bubblewrap()
    if confinement == "bubblewrap" and not bwrap:
        pytest.skip("bubblewrap (Debian's bwrap) is not installed here: grading falls back to unshare")
    secret = tmp_path / "outside" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("the whole class's grades")
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o711)
    cache = tmp_path / "outside" / "run-cache" / "entry.json"  # the grader's run cache: readable only
    cache.parent.mkdir()
    cache.write_text("{}")
    plan = sandbox.visibility_plan([tmp_path / "outside"], readable=[cache.parent])
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # reachable from the host
        args = {"port": port, "secret": str(secret), "kit": str(ROOT / "finetune_kit" / "__init__.py"),
                "cache": str(cache),
                "answer_key": str(ROOT / "solutions" / "part1_fundamentals" / "part1_fundamentals.ipynb")}
        prefix, inside = ([*sandbox.worker_prefix("full")], scratch) if confinement == "unshare" \
            else ([bwrap, *sandbox.bwrap_view(scratch, plan)], "/tmp")
        out = subprocess.run([*prefix, sys.executable, "-c", CONFINED, str(inside), json.dumps(plan), PROBE,
                              json.dumps(args)], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip(), out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["uid"] == sandbox.UID_BASE + 7
    assert seen["as"] == sandbox.Limits().memory_bytes and seen["nproc"] == sandbox.Limits().processes
    assert seen["net"] != "connected"
    assert seen["secret"] in (0, "FileNotFoundError", "PermissionError")
    assert seen["answer_key"] in (0, "FileNotFoundError", "PermissionError")
    assert isinstance(seen["kit"], int) and seen["kit"] > 0, "the kit itself must stay readable"
    assert seen["write_home"] == "ok" and seen["write_scratch"] == "PermissionError"
    assert seen["cache"] == 2 and seen["write_cache"] in ("PermissionError", "OSError"), seen
    assert cache.read_text() == "{}"
    assert secret.read_text() == "the whole class's grades"


@pytest.mark.slow
def test_the_guard_raises_no_false_alarm_on_the_whole_kit():
    """Every kit module, freshly imported and untouched, must heal to nothing (an honest student's
    notebook must never be reported or altered)."""
    code = textwrap.dedent("""
        import importlib, json, pkgutil
        import finetune_kit
        from finetune_kit.grading import guard
        names = [m.name for m in pkgutil.walk_packages(finetune_kit.__path__, "finetune_kit.")
                 if guard._healed(m.name) and not m.name.endswith("__main__")]
        failed = []
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as err:  # a module needing an optional service is not the guard's business
                failed.append(name)
        keeper = guard._ModuleKeeper()
        print(json.dumps({"repairs": keeper.heal() + keeper.heal(), "modules": len(keeper.known),
                          "failed": failed}))
    """)
    env = dict(os.environ, FINETUNE_KIT_PROFILE="smoke")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["modules"] >= 5
    assert result["repairs"] == []
