"""The grader's old address, kept for practice files written before it moved to lib/grader/:
`from lib.learner import grade, workspace` still works."""
from lib.grader.face import check, grade, workspace  # noqa: F401
