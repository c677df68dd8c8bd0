"""Errors a user can act on.

Each carries one line that says what is wrong and what to do; the faces print
it without a traceback and exit with code 2.
"""


class UserError(Exception):
    """Bad input from the user: one clear line, exit code 2."""

    exit_code = 2


class CorpusError(UserError):
    pass


class ConfigError(UserError):
    pass


class DeviceError(UserError):
    pass


class CheckpointError(UserError):
    pass


class RunError(UserError):
    pass


def first_line(exc: BaseException, limit: int = 120) -> str:
    """An exception as one short line for an error message."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]
