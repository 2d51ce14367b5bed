"""Exceptions raised by leitmotif. Every one names the file it concerns (``path``) when there is one."""

from __future__ import annotations

from typing import Optional


class LeitmotifError(Exception):
    """Base class of leitmotif's errors; ``str(e)`` is the one-line message the command line prints."""

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path


class DecodeError(LeitmotifError):
    """A file cannot be read or decoded: missing, empty, not audio, unsupported codec, corrupt."""


class AnalysisError(LeitmotifError):
    """A file decodes but cannot be analysed with these settings (e.g. a sample rate too low)."""


class ParameterError(LeitmotifError, ValueError):
    """A setting is out of range, or a query span is malformed; the message names the value."""


class DocumentError(LeitmotifError, ValueError):
    """A JSON document (report, truth) does not follow its schema."""


class WriteError(LeitmotifError):
    """An output could not be written."""


class NothingAnalysedError(LeitmotifError):
    """None of the inputs could be analysed; the message lists why for each."""


__all__ = [
    "AnalysisError",
    "DecodeError",
    "DocumentError",
    "LeitmotifError",
    "NothingAnalysedError",
    "ParameterError",
    "WriteError",
]
