"""The one error type the apps report as a single line (no traceback)."""


class AppError(Exception):
    """Bad input or a missing dependency: the message says what and what to do."""
