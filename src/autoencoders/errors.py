"""The errors a user can cause, each carrying a one-line message.

The CLI prints ``str(error)`` on stderr and exits with code 2; anything that is
not an :class:`AutoencodersError` is a bug and keeps its traceback.
"""

EXIT_USAGE = 2  # the exit status of a one-line error


class AutoencodersError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(AutoencodersError, ValueError):
    """Data that is missing, unreadable, malformed or of the wrong shape."""


class ModelFileError(AutoencodersError, ValueError):
    """A saved model directory that is missing, damaged or inconsistent."""


class TrainingError(AutoencodersError, RuntimeError):
    """Training that cannot go on (for instance a loss that became NaN)."""


class ParameterError(AutoencodersError, ValueError):
    """An option or parameter value that cannot be used."""


def one_line(error: BaseException) -> str:
    """An exception's whole message on one line (its type's name if it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
