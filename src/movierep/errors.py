"""User-facing errors: one clear line naming the file and the problem, exit code 2."""


class UserError(Exception):
    """An error caused by the user's input (a missing file, a bad option, a malformed annotation).

    The CLI prints ``movierep: error: <message>`` and exits with status 2 instead of a
    traceback. The message is a single line that names the offending file or option.
    """
