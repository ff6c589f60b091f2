"""Exceptions of the core: each carries what was asked and, where it helps, what exists."""

from __future__ import annotations

from collections.abc import Iterable


class OverwatchError(Exception):
    """Base of every error the core raises on purpose."""

    category = "Overwatch error"


class ConfigError(OverwatchError):
    """A setting is unknown, of the wrong type, or has an invalid value."""

    category = "Configuration error"


class FileNameError(OverwatchError):
    """A file name does not follow one of the known patterns."""

    category = "File name error"


class HistogramReadError(OverwatchError):
    """A ROOT file could not be opened or decoded."""

    category = "Histogram read error"


class NotFoundError(OverwatchError):
    """Something asked for by name does not exist; the message lists what does."""

    category = "Not found"

    def __init__(self, kind: str, value: object, valid: Iterable[object] = ()) -> None:
        self.kind = kind
        self.value = value
        self.valid = list(valid)
        shown = ", ".join(str(v) for v in self.valid[:20])
        more = f" (and {len(self.valid) - 20} more)" if len(self.valid) > 20 else ""
        suffix = f"; valid: {shown}{more}" if self.valid else "; none exist"
        super().__init__(f"unknown {kind} {value!r}{suffix}")
