"""The instructor's reference answers to the course's exercises: one module per notebook part.

Nothing here is in the student hand-out (``python -m finetune_kit handout``) or visible to a student
kernel while grading (the sandbox shows only the package and the data). Each exercise's solution cell
in ``solutions/`` is generated from the function here (``notebook_source.solution``), so the answer the
tests check, the answer the notebooks show the instructor and the recipe the kit's own CLI and Azure job
run are one piece of code. Load it with ``finetune_kit.course.reference.load("<module>")``.
"""
