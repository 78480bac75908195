"""Grading a whole class with nbgrader, safely and fast (``python -m finetune_kit grade``).

One module per step:

* ``intake``  — an LMS download (zip or folder) → which file is which student's notebook;
* ``sandbox`` — limits, no network and a private view of the file system for student code;
* ``guard``   — runs inside the student's kernel: every test cell meets pristine Python;
* ``worker``  — grades one student in a scratch nbgrader course (a separate, confined process);
* ``gradebook`` — merges a worker's results into the instructor's gradebook (parent only);
* ``runner``  — the class in parallel, resumable, one atomic result file per student;
* ``report``  — ``grades.csv`` and the class report (HTML with plots).

Why this shape: stock nbgrader runs student code with the grader's permissions in the course
folder, so one notebook can read the answer key or overwrite ``gradebook.db``. Here each student is
graded in a throw-away copy of the course by a confined worker; only the trusted parent process
writes the instructor's gradebook. docs/grading.md says what this does and does not
protect against.
"""

import warnings

# nbgrader 0.9's gradebook trips SQLAlchemy's autoflush warning on every submission it creates: noise.
warnings.filterwarnings("ignore", message=".*not in session, add operation along.*")
