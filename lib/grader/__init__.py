"""The practice grader: a learner's own backward, graded line by line against lib/lecture.py's.
What a practice file imports is here (workspace, grade, check); lib/grader/README.md says how it
judges and where a new mistake goes."""
from lib.grader.face import check, grade, workspace  # noqa: F401  (a practice file's imports)
