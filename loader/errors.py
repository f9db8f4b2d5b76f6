"""Error classes. Only transient errors are retried; terminal ones fail at once."""


class LoaderError(Exception):
    """Base class of the loader's own errors."""


class TransientError(LoaderError):
    """Timeouts, throttling, 5xx, resets: worth retrying with backoff."""


class TerminalError(LoaderError):
    """Bad configuration, bad credentials, a 4xx: retrying will not help."""


class FileError(LoaderError):
    """One file cannot be read now, for a reason that is neither its content nor the account's
    (e.g. an archived blob: 409): it fails alone, the other files go on, and the next run tries
    it again. Not retried within the run."""


class BadFileError(TerminalError):
    """One file cannot be landed (corrupt, wrong schema). The file is quarantined; others go on."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
