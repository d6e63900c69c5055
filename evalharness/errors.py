"""The one exception type for user mistakes.

Anything raised as `UserError` is printed by the CLI as a single line and exits non-zero; every other exception
is a bug in evalharness and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input (config, data files, command line) described in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))


class ResultsWarning(UserWarning):
    """A results folder that can be read but not checked (its manifest predates the list of file hashes): the
    CLI prints it as one line."""
