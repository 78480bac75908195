"""Part 3 section (placeholder until its lesson lands)."""

from notebook_source import md

CELLS = [
    md("*(This section is being written.)*"),
]
