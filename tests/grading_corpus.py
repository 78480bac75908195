"""The sample class every grading test grades (autograde/examples/class) and what each student should earn.

Shared by the grading test modules, which are split so that pytest-xdist (``--dist loadscope``: one
module per worker at a time) can run the long ones side by side.
"""

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from conftest import ROOT
from finetune_kit.grading import sandbox

EXAMPLES = ROOT / "autograde" / "examples"
CLASS = EXAMPLES / "class"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text())
TARGET = EXPECTED["target"]
STUDENTS = sorted(EXPECTED["students"])
ATTACKING = {s for s in STUDENTS if EXPECTED["students"][s]["assignment"] == TARGET}  # the shared run's
ELSEWHERE = sorted(set(STUDENTS) - ATTACKING)  # attacks on another assignment: graded for that one
# Generous for a busy 2-core machine; the corpus's infinite loops wait this long once each.
# Part 1 fits in 4G of address space; the memory bomb then stops there, whatever the machine's RAM.
LIMITS = sandbox.Limits(cell_timeout=20, notebook_timeout=300, memory_bytes=4 * 2**30)
# Parts 2 and 3 train in their cells (under 10 s each here, twice that beside another test run) and the
# corpus has no infinite loop there: the grader's own cell limit, which no test waits out.
TRAINING_LIMITS = dataclasses.replace(LIMITS, cell_timeout=sandbox.Limits.cell_timeout)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def isolated_or_skip() -> None:
    """The corpus is hostile: it never runs unconfined."""
    try:
        sandbox.detect_isolation()
    except ValueError as err:
        pytest.skip(str(err))
