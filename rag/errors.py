"""A small exception hierarchy; the edges (CLI, HTTP) translate these into messages and codes."""

from __future__ import annotations


class RagError(Exception):
    """Base of every error a user may see. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""

    exit_code = 2


class IndexMissingError(RagError):
    """No index has been built yet."""

    exit_code = 3


class IndexCorruptError(RagError):
    """The index on disk cannot be read."""

    exit_code = 3


class ModelMismatchError(RagError):
    """The index was built with another embedding model than the one configured."""

    exit_code = 4


class DocumentError(RagError):
    """A document could not be read or is empty; it is skipped, the others are kept."""

    exit_code = 5

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NoDocumentsError(RagError):
    """Nothing indexable was found."""

    exit_code = 5


class IndexBusyError(RagError):
    """Another process is writing the index."""

    exit_code = 6


class BackendError(RagError):
    """An outside backend (embedding model, vector store) failed or is not installed."""

    exit_code = 7


class StoreUnavailableError(RagError):
    """The Chroma server holding the index cannot be reached; retrying later may work."""

    exit_code = 9
