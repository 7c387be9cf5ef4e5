"""SIP2 as the kit sees it: raw frames over a socket, checked against a declarative table.

The kit deliberately shares no code with the hub's SIP2 server (its codec and message
tables): a kiosk port is checked against the 3M guide as written here, so a mistake
made the same way on both sides cannot hide itself.

`RESPONSES` is the table: for each response code, its fixed-length parts in order
(name, length, pattern) and the variable fields that must be present (3M "required";
present may be empty). `check_response` checks one reply field by field.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

DATE = r"\d{8}[ 0-9A-Z]{4}\d{6}"  # YYYYMMDD ZZZZ HHMMSS (ZZZZ blank = local time)
YN = r"[YN]"
YNU = r"[YNU]"
COUNT = r"[ 0-9]{4}"


@dataclass(frozen=True)
class Part:
    name: str
    length: int
    pattern: str


@dataclass(frozen=True)
class ResponseSpec:
    code: str
    name: str
    fixed: tuple[Part, ...]
    required: tuple[str, ...]
    patterns: dict[str, str] = field(default_factory=dict)  # field id -> full-match regex

    @property
    def fixed_length(self) -> int:
        return sum(p.length for p in self.fixed)


def _parts(spec: str) -> tuple[Part, ...]:
    """'ok:1:[01] date:18:DATE' -> parts; a pattern may name a constant above."""
    named = {"DATE": DATE, "YN": YN, "YNU": YNU, "COUNT": COUNT}
    out = []
    for item in spec.split():
        name, length, pattern = item.split(":", 2)
        out.append(Part(name, int(length), named.get(pattern, pattern)))
    return tuple(out)


_ITEM_REPLY = "ok:1:[01] renewal_ok:1:YN magnetic_media:1:YNU desensitize:1:YNU date:18:DATE"
_PATRON = "patron_status:14:[\\x20Y]{14} language:3:\\d{3} date:18:DATE"
_LIBRARY = r"\d{6}"

# The table (3M SIP2 Developers Guide 2.00; docs/sip2.md).
RESPONSES: dict[str, ResponseSpec] = {s.code: s for s in (
    ResponseSpec("94", "login response", _parts("ok:1:[01]"), ()),
    ResponseSpec("98", "ACS status", _parts(
        "online:1:YN checkin_ok:1:YN checkout_ok:1:YN renewal_policy:1:YN "
        "status_update_ok:1:YN offline_ok:1:YN timeout:3:\\d{3} retries:3:\\d{3} "
        "date_time_sync:18:DATE protocol_version:4:2\\.00"),
        ("AO", "BX"), {"AO": _LIBRARY, "BX": "[YN]{16}"}),
    ResponseSpec("24", "patron status", _parts(_PATRON), ("AO", "AA", "AE"),
                 {"AO": _LIBRARY, "BL": YN, "CQ": YN}),
    ResponseSpec("64", "patron information", _parts(
        _PATRON + " hold_items:4:COUNT overdue_items:4:COUNT charged_items:4:COUNT "
        "fine_items:4:COUNT recall_items:4:COUNT unavailable_holds:4:COUNT"),
        ("AO", "AA", "AE"), {"AO": _LIBRARY, "BL": YN, "CQ": YN}),
    ResponseSpec("12", "checkout response", _parts(_ITEM_REPLY), ("AO", "AA", "AB", "AJ", "AH"),
                 {"AO": _LIBRARY, "AH": f"({DATE})?"}),
    ResponseSpec("30", "renew response", _parts(_ITEM_REPLY), ("AO", "AA", "AB", "AJ", "AH"),
                 {"AO": _LIBRARY, "AH": f"({DATE})?"}),
    ResponseSpec("10", "checkin response", _parts(
        "ok:1:[01] resensitize:1:YNU magnetic_media:1:YNU alert:1:YN date:18:DATE"),
        ("AO", "AB", "AQ"), {"AO": _LIBRARY}),
    ResponseSpec("18", "item information", _parts(
        "circulation_status:2:(0[1-9]|1[0-3]) security_marker:2:\\d{2} fee_type:2:\\d{2} "
        "date:18:DATE"), ("AB", "AJ"), {"AH": f"({DATE})?", "CF": r"\d{0,4}"}),
    ResponseSpec("66", "renew all response", _parts(
        "ok:1:[01] renewed_count:4:COUNT unrenewed_count:4:COUNT date:18:DATE"), ("AO",),
        {"AO": _LIBRARY}),
    ResponseSpec("16", "hold response", _parts("ok:1:[01] available:1:YN date:18:DATE"),
                 ("AO", "AA"), {"AO": _LIBRARY, "BW": DATE, "BR": r"\d{1,4}",
                                "BS": _LIBRARY}),
    ResponseSpec("36", "end session", _parts("end_session:1:YN date:18:DATE"), ("AO", "AA")),
    ResponseSpec("96", "resend request", (), ()),
)}


# BX (98): one Y/N per request, in the 3M guide's order.
BX_ORDER = ("23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25",
            "15", "29", "65")


def checksum(data: bytes) -> str:
    """SIP2 checksum: the two's complement of the byte sum (low 16 bits), 4 hex digits."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def frame(text: str, seq: int | None, encoding: str = "utf-8") -> bytes:
    """A request as typed, with AY/AZ (unless `seq` is None) and a CR."""
    data = text.encode(encoding)
    if seq is not None:
        data += f"AY{seq % 10}AZ".encode()
        data += checksum(data).encode()
    return data + b"\r"


@dataclass
class Reply:
    raw: bytes
    text: str
    code: str
    fixed: dict[str, str]
    fields: dict[str, list[str]]
    checksum_ok: bool | None  # None: no AZ

    def get(self, fid: str) -> str | None:
        values = self.fields.get(fid)
        return values[0] if values else None


class Malformed(ValueError):
    pass


def parse(raw: bytes, encoding: str) -> Reply:
    """Split one reply (without its terminator) into fixed parts and fields. Raises
    Malformed naming the first problem."""
    body = raw.rstrip(b"\r\n")
    checksum_ok = None
    match = re.search(rb"AY\dAZ([0-9A-Fa-f]{4})$", body)
    if match:
        checksum_ok = checksum(body[:match.start(1)]) == match.group(1).decode().upper()
        body = body[:match.start()]
    elif body.endswith(b"AZ") or re.search(rb"AZ[0-9A-Fa-f]{0,3}$", body):
        raise Malformed("checksum field AZ is not 4 hex digits")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Malformed(f"not valid {encoding}: {exc}") from None
    code = text[:2]
    spec = RESPONSES.get(code)
    if spec is None:
        raise Malformed(f"unexpected response code {code!r}")
    rest = text[2:]
    if len(rest) < spec.fixed_length:
        raise Malformed(f"{code}: fixed part is {len(rest)} characters, needs "
                        f"{spec.fixed_length}")
    fixed, pos = {}, 0
    for part in spec.fixed:
        value = rest[pos:pos + part.length]
        pos += part.length
        if not re.fullmatch(part.pattern, value):
            raise Malformed(f"{code}: fixed part {part.name} = {value!r} does not match "
                            f"{part.pattern}")
        fixed[part.name] = value
    fields: dict[str, list[str]] = {}
    for chunk in rest[pos:].split("|"):
        if not chunk:
            continue
        if len(chunk) < 2 or not re.fullmatch(r"[A-Z][A-Z]", chunk[:2]):
            raise Malformed(f"{code}: bad variable field {chunk[:10]!r}")
        fields.setdefault(chunk[:2], []).append(chunk[2:])
    return Reply(raw, text, code, fixed, fields, checksum_ok)


def check_response(reply: Reply, expected_code: str) -> list[str]:
    """Every problem of one reply against the table (empty: well formed)."""
    problems = []
    if reply.code != expected_code:
        return [f"expected a {expected_code}, got a {reply.code}"]
    spec = RESPONSES[expected_code]
    for fid in spec.required:
        if fid not in reply.fields:
            problems.append(f"{expected_code}: required field {fid} missing")
    for fid, pattern in spec.patterns.items():
        for value in reply.fields.get(fid, []):
            if not re.fullmatch(pattern, value):
                problems.append(f"{expected_code}: field {fid} = {value!r} does not match "
                                f"{pattern}")
    if reply.checksum_ok is False:
        problems.append(f"{expected_code}: checksum AZ does not match the bytes")
    return problems


class Wire:
    """One kiosk connection. Each exchange is kept (bytes both ways) for the report."""

    def __init__(self, host: str, port: int, *, encoding: str = "utf-8",
                 timeout: float = 10.0, log: list | None = None) -> None:
        self.encoding = encoding
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.seq = 0
        self.log = log if log is not None else []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) % 10
        return self.seq

    def send_bytes(self, data: bytes) -> bytes:
        """Send one frame and read one reply line (without the terminator)."""
        self.sock.sendall(data)
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.log.append({"sent": data, "received": self.buffer})
                raise ConnectionError("the kiosk port closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r")
        self.buffer = self.buffer.lstrip(b"\n")
        self.log.append({"sent": data, "received": line})
        return line

    def ask(self, text: str, *, seq: int | None = -1) -> Reply:
        """Send `text` with the next sequence number (or `seq`; None = no AY/AZ)."""
        use = self.next_seq() if seq == -1 else seq
        line = self.send_bytes(frame(text, use, self.encoding))
        return parse(line, self.encoding)
