"""Errors raised for bad user input.

Every message names *where* (file / position / field) and *what* (the value), so the
command line can print it as one line and the GUI can mark the offending cell.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


MAX_VALUE_TEXT = 80


def _fmt_value(value: Any) -> str:
    """The value as ``repr`` shows it (control characters and lone surrogates escaped, so
    the message is always printable), cut to :data:`MAX_VALUE_TEXT` characters."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):     # an integer beyond the digit limit, a deep list
        text = f"<{type(value).__name__}>"
    if len(text) > MAX_VALUE_TEXT:
        text = text[:MAX_VALUE_TEXT - 1] + "…"
    return text


class InputError(ValueError):
    """Bad input from the user (file, field or value).

    Attributes
    ----------
    field : str or None
        Dotted path of the offending field, e.g. ``"positions[2].leverage"``.
    value : Any
        The offending value as given.
    position : str or None
        Id of the position (or account) the field belongs to, when there is one.
    source : str or None
        File (and row) the value came from, when it came from a file.
    """

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 position: str | None = None, source: str | None = None):
        self.reason = message
        self.field = field
        self.value = value
        self.position = position
        self.source = source
        super().__init__(self._compose())

    def with_field(self, field: str | None) -> "InputError":
        """The same error naming ``field`` instead (e.g. a request field mapped to a CLI flag)."""
        return InputError(self.reason, field=field, value=self.value, position=self.position,
                          source=self.source)

    def _compose(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.position:
            where.append(f"position {self.position!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        text = self.reason
        if self.field is not None and "(value " not in text:
            text = f"{text} (value {_fmt_value(self.value)})"
        return f"{prefix}: {text}" if prefix else text


@dataclass
class Issue:
    """A validation finding that does not stop the computation (a warning)."""

    message: str
    field: str | None = None
    value: Any = None
    position: str | None = None
    severity: str = "warning"
    extra: dict = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        where = []
        if self.position:
            where.append(f"position {self.position!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
