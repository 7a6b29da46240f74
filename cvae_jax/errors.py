"""The errors a user can cause and fix, under one base class.

Launchers show a `CvaeError` as one line naming the problem and the fix, with no traceback;
any other exception is a bug and keeps its traceback. Each type also derives from the
builtin that code outside the project would expect (ValueError, FloatingPointError).
"""


class CvaeError(Exception):
    """Base of every user-facing error; `exit_code` is what a launcher exits with."""

    exit_code = 1


class ConfigError(CvaeError, ValueError):
    """A config key holds a value the code cannot run with (names key, value and what is allowed)."""

    exit_code = 2  # a usage error, like a bad flag


class DataError(CvaeError, ValueError):
    """A data file or array cannot be used: missing, truncated, mismatched or out of range."""


class WorkdirError(CvaeError, ValueError):
    """The workdir cannot be used: not a directory, not writable, or holds another run."""


class WorkdirConflictError(WorkdirError):
    """The workdir holds a run made with another config."""


class CheckpointMismatchError(WorkdirError):
    """The checkpoints in a directory were written by a different config."""


class DivergenceError(CvaeError, FloatingPointError):
    """A member's loss or gradient became non-finite and training.on_nonfinite='raise'."""


class ContractError(CvaeError, TypeError):
    """A registered module (prior, posterior, model kind) returned what its interface forbids."""

    exit_code = 2  # a user's own family is part of the configuration
