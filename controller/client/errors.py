"""The failures of ``te-intent``: each is one line on stderr, and its class gives the exit status."""


class CliError(Exception):
    """A failure reported as one line on stderr; ``status`` is the exit status."""

    status = 1


class UsageError(CliError):
    status = 2


class Unreachable(CliError):
    status = 3


class Refused(CliError):
    """The controller answered with an error (4xx with the API's Error body, or a 5xx); ``http_status`` is
    that answer's status (None when the refusal is the client's own, e.g. an unknown name)."""

    status = 1

    def __init__(self, message: str, http_status: int | None = None):
        super().__init__(message)
        self.http_status = http_status


def one_line(text: str) -> str:
    """``text`` with its line breaks and other unprintable characters escaped, so a message stays one line.

    >>> one_line("name 'a\\nb'"), one_line("caf\u00e9 is fine")
    ("name 'a\\\\nb'", 'café is fine')
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
