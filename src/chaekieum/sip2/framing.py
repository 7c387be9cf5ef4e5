"""Splitting a SIP2 TCP byte stream into frames.  Pure, no I/O.

TCP has no message boundaries: one read may hold several requests or half of one
(trap 2), and kiosks end lines with CR, CRLF or LF, sometimes with blank lines in
between (trap 1).  Memory per connection is bounded by ``max_frame_bytes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERMINATOR = re.compile(rb"[\r\n]")
_BLANK = b" \t\x00"
_HEAD = 64


@dataclass(frozen=True)
class Oversized:
    """Marker for a frame longer than the cap; its bytes were discarded.

    Emitted as soon as the cap is exceeded (the rest of that frame, up to the next
    terminator, is skipped silently), so the server can log and drop immediately."""

    size: int  # bytes seen when the cap was hit; the frame may be longer
    head: bytes  # its first bytes, for the log line

    def __str__(self) -> str:
        return f"SIP2 frame over {self.size} bytes dropped, starting {self.head!r}"


class FrameBuffer:
    def __init__(self, max_frame_bytes: int = 64 * 1024) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be positive")
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()  # start of an unterminated frame, never over the cap
        self._discarding = False  # inside an oversized frame, waiting for its terminator

    @property
    def pending(self) -> int:
        """Bytes buffered for an incomplete frame."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        """Add received bytes; return the frames they complete (without terminators,
        blank lines skipped) and ``Oversized`` markers, in stream order."""
        data = bytes(data)
        out: list[bytes | Oversized] = []
        start = 0
        # Only the new bytes are scanned: the buffer is known to hold no terminator,
        # so byte-at-a-time input stays linear.
        for m in _TERMINATOR.finditer(data):
            self._complete(data[start : m.start()], out)
            start = m.end()
        tail = data[start:]
        if self._discarding:
            return out
        if len(self._buf) + len(tail) > self.max_frame_bytes:
            head = (bytes(self._buf) + tail[:_HEAD])[:_HEAD]
            out.append(Oversized(len(self._buf) + len(tail), head))
            self._buf.clear()
            self._discarding = True
        else:
            self._buf += tail
        return out

    def _complete(self, piece: bytes, out: list[bytes | Oversized]) -> None:
        if self._discarding:  # this terminator ends the oversized frame
            self._discarding = False
            return
        size = len(self._buf) + len(piece)
        if size > self.max_frame_bytes:
            head = (bytes(self._buf) + piece[:_HEAD])[:_HEAD]
            self._buf.clear()
            out.append(Oversized(size, head))
            return
        frame = bytes(self._buf) + piece
        self._buf.clear()
        if frame.strip(_BLANK):  # CRLF leaves an empty line between CR and LF: skip it
            out.append(frame)


def looks_like_tls(first_bytes: bytes) -> bool:
    """A TLS record header (0x16 0x03 ..) or an SSLv2-style ClientHello: a client
    speaking TLS to a plain-text port (trap 13)."""
    b = bytes(first_bytes[:3])
    if not b:
        return False
    if b[0] == 0x16 and (len(b) == 1 or b[1] == 0x03):
        return True
    return len(b) == 3 and b[0] & 0x80 != 0 and b[2] == 0x01


_CONTROL = frozenset([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_HTTP = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"OPTIONS ", b"CONNECT ", b"PRI * HTTP")


def sniff_garbage(first_bytes: bytes) -> str | None:
    """Classify the first bytes of a connection: ``"tls"``, ``"http"``, ``"binary"``
    (control bytes no SIP text contains), or None when it may be SIP."""
    if looks_like_tls(first_bytes):
        return "tls"
    b = bytes(first_bytes[:_HEAD])
    if b.startswith(_HTTP):
        return "http"
    if any(byte in _CONTROL for byte in b):
        return "binary"
    return None
