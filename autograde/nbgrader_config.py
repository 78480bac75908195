"""nbgrader configuration of the course (source = solutions/, release = notebooks/).

Used by ``make release``, ``python -m finetune_kit grade`` and by instructors running ``nbgrader``
from this folder. Work files (gradebook, submissions, autograded copies, feedback) go to
``build/course`` so the repository stays clean; ``finetune_kit.course.classroom`` points them elsewhere for
a grading run.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "course"

c.CourseDirectory.course_id = "finetune-course"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = str(WORK / "submitted")
c.CourseDirectory.autograded_directory = str(WORK / "autograded")
c.CourseDirectory.feedback_directory = str(WORK / "feedback")
c.CourseDirectory.solution_directory = str(WORK / "source_with_solutions")
c.CourseDirectory.db_url = f"sqlite:///{WORK / 'gradebook.db'}"
c.CourseDirectory.db_assignments = [
    {"name": "part1_fundamentals"},
    {"name": "part2_finetuning"},
    {"name": "part3_evaluate_deploy"},
]
c.GenerateAssignment.create_assignment = True

# Grading runs every notebook under the smoke profile (finetune_kit.course.config), where the slowest
# cell takes a few seconds; 120 s leaves room for a busy 2-core machine without letting an
# infinite loop hold the class up for long.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Any stderr output in a test cell scores it 0. The kit silences libraries under smoke; this
# catches what slips through (Python warnings, tqdm progress bars, HF/torch notices).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    # every line is a warning, its indented source line, a progress bar, or blank
    r"\A(?:(?:[^\n]*(?:Warning|WARNING|warn\(|\d+%\|)[^\n]*|[ \t\r][^\n]*|\r?)\n?)+\Z"
)

# Feedback goes back to students: it must not contain hidden tests or their tracebacks.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "finetune_kit.grading.feedback.WithholdHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# A deleted test cell is restored from the gradebook instead of silently losing its points.
c.OverwriteCells.add_missing_cells = True
