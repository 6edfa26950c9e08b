"""Row ids as they may enter from outside: positive and within SQLite's 64-bit INTEGER.

``DbId`` bounds path, query and body ids at the edge (422 instead of an ``OverflowError``);
``valid_id`` lets the repository answer "not found" for any other caller (the live conversation).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1  # the largest SQLite INTEGER

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


def valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
