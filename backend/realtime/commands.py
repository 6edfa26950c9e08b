"""The few messages between a server and the render worker that owns a client's avatar stream.

They travel over two Redis lists per client: commands to the worker, notices back. A command is one
byte of kind, a 4-byte turn, an 8-byte clip id and, for ``SPEAK``, a packed AudioChunk.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SPEAK, INTERRUPT, STOP = b"S", b"I", b"Q"
CLIP_SENT, FIRST_SEGMENT = b"D", b"F"
_HEAD = struct.Struct("<cIQ")


def command_key(sid: str) -> str:
    return f"avatar:stream:{sid}:cmd"


def notice_key(sid: str) -> str:
    return f"avatar:stream:{sid}:notice"


@dataclass(frozen=True)
class Message:
    kind: bytes
    turn: int = 0
    clip: int = 0
    payload: bytes = b""

    def pack(self) -> bytes:
        return _HEAD.pack(self.kind, self.turn, self.clip) + self.payload

    @classmethod
    def unpack(cls, data: bytes) -> Message:
        kind, turn, clip = _HEAD.unpack_from(data)
        return cls(kind, turn, clip, data[_HEAD.size:])
