"""Are the test tiers honest? ``make test-fast`` (``-m "not slow"``) must execute no notebook."""

import subprocess
import sys

from conftest import ROOT


def _collected(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_the_fast_tier_runs_no_notebook_and_the_full_one_runs_them_all():
    fast = _collected("-m", "not slow")
    assert fast and not [item for item in fast if ".ipynb" in item]
    notebooks = {item.split("::")[0] for item in _collected("solutions") if ".ipynb" in item}
    assert len(notebooks) == len(list((ROOT / "solutions").glob("*/*.ipynb"))) >= 5
