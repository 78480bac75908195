"""Is a kernel forked from the prefork process the same confined kernel a normal launch gives?"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Run in a fresh process: the prefork process must be forked while its parent has a single thread.
SCRIPT = textwrap.dedent("""
    import asyncio, json, os, sys
    from pathlib import Path
    from finetune_kit.grading import prefork, sandbox

    tmp, plan = Path(sys.argv[1]), json.loads(sys.argv[2])
    as_root = plan is not None  # full isolation: as in a worker, a private view and a uid for the kernel
    if as_root:
        sandbox.loopback_up()
        tmp = sandbox.private_view(tmp, plan)
    limits = sandbox.Limits(memory_bytes=6 * 2**30)
    uid = sandbox.UID_BASE + 7 if as_root else None
    jail = sandbox.Jail(home=tmp / "home", cwd=tmp / "home" / "work", limits=limits, uid=uid)
    jail.prepare()
    shared = sandbox.Jail(home=tmp / "prefork", cwd=tmp / "prefork", limits=limits)
    shared.prepare()
    os.chmod(tmp / "prefork", 0o755)
    factory = prefork.Prefork.start(shared.env(), str(tmp / "prefork"))

    PROBE = '''
    import json, os, resource, sys
    try:
        os.kill(os.getppid(), 0)
        signal_parent = "allowed"
    except PermissionError:
        signal_parent = "refused"
    print(json.dumps({"uid": os.getuid(), "as": resource.getrlimit(resource.RLIMIT_AS)[0],
                      "home": os.environ["HOME"], "cwd": os.getcwd(), "ppid": os.getppid(),
                      "preloaded": "torch" in sys.modules, "signal_parent": signal_parent}))
    '''

    async def main():
        km = sandbox.SandboxKernelManager(jail=jail, prefork=factory)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=120)
        seen = []
        await kc.execute_interactive(PROBE, timeout=60, output_hook=lambda m: seen.append(m["content"].get("text", "")))
        try:
            await kc.execute_interactive("import os; os._exit(3)", timeout=5)
        except Exception:
            pass
        for _ in range(100):
            if not await km.is_alive():
                break
            await asyncio.sleep(0.1)
        kc.stop_channels()
        result = json.loads("".join(seen))
        result.update(exit=km.exit_status(), prefork=factory.pid, expected_uid=uid if as_root else os.getuid(),
                      home_expected=str(jail.home), cwd_expected=str(jail.cwd), as_root=as_root)
        print(json.dumps(result))

    asyncio.run(main())
    factory.close()
""")


@pytest.fixture
def work():
    """A folder the kernel's uid may pass through (pytest's own tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="prefork-", dir="/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _run(script: str, work: Path) -> dict:
    """The script as a worker runs: in its namespaces with a private view where the machine allows."""
    from finetune_kit.grading import sandbox

    full = os.geteuid() == 0 and sandbox.detect_isolation() == "full"
    prefix = sandbox.worker_prefix("full") if full else []
    plan = sandbox.visibility_plan([]) if full else None
    out = subprocess.run([*prefix, sys.executable, "-c", script, str(work), json.dumps(plan)], capture_output=True,
                         text=True, timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_forked_kernel_is_confined_preloaded_and_reports_how_it_died(work):
    seen = _run(SCRIPT, work)
    assert seen["ppid"] == seen["prefork"], "the kernel was launched normally, not forked"
    assert seen["preloaded"], "the kernel had to import torch itself"
    assert seen["uid"] == seen["expected_uid"]
    assert seen["as"] == 6 * 2**30
    assert seen["home"] == seen["home_expected"] and seen["cwd"] == seen["cwd_expected"]
    assert seen["exit"] == 3, "os._exit(3) must be reported as exit status 3 (describe_exit names it)"
    if seen["as_root"]:
        assert seen["signal_parent"] == "refused", "a kernel of another uid must not signal the prefork process"


def test_without_a_prefork_process_the_kernel_starts_normally(work):
    """The fallback: a prefork process that is gone costs only speed."""
    script = SCRIPT.replace("factory = prefork.Prefork.start(shared.env(), str(tmp / \"prefork\"))",
                            "factory = prefork.Prefork.start(shared.env(), str(tmp / \"prefork\")); factory.close()")
    seen = _run(script, work)
    assert seen["ppid"] != seen["prefork"] and not seen["preloaded"]
    assert seen["uid"] == seen["expected_uid"] and seen["exit"] == 3
