"""The one exception type that means "the user's input is wrong": the CLI prints it as a single line."""


class InputError(Exception):
    """Bad input or arguments: reported to the user as one line, exit status 2, never a traceback."""
