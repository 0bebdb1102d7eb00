"""A page's key numbers as rows: one shape shared by the pages that list them directly.

Example:
    >>> KeyNumberItems((("n", "Shops", "36", "rated"),)).rows()
    [('Shops', '36', 'rated')]
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["KeyNumberItems"]


@dataclass(frozen=True)
class KeyNumberItems:
    """Key numbers: ``items`` holds ``(key, label, value, detail)`` rows in the strip's order
    (what :func:`chatsim.notebook.show_key_numbers` draws)."""

    items: tuple[tuple[str, str, str, str], ...]

    def rows(self) -> list[tuple[str, str, str]]:
        """The key numbers as ``(label, value, detail)``."""
        return [(lab, value, detail) for _, lab, value, detail in self.items]

    def as_frame(self) -> pl.DataFrame:
        """The key numbers as a table: ``key``, ``label``, ``value``, ``detail``."""
        return pl.DataFrame(
            list(self.items),
            schema={"key": pl.String, "label": pl.String, "value": pl.String, "detail": pl.String},
            orient="row",
        )
