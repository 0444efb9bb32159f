"""The engine's own exception types.

`EngineError` is what the CLI turns into a one-line message and exit code 1;
anything else escaping a command is a bug.
"""


class EngineError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


class ImageLoadError(EngineError):
    """An image could not be decoded; `reason` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class MissingDependencyError(EngineError):
    """An optional heavy dependency (faiss, CUDA) is absent."""
