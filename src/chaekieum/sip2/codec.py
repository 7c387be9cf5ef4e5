"""SIP2 codec: checksums, frame decoding and encoding, field helpers.  Pure, no I/O.

Decoding is lenient (real kiosks are sloppy, see docs/sip2.md traps); encoding is strict
(what we send must always be valid 2.00), so handler bugs surface as ``EncodeError``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from .messages import (
    ID_FIELDS,
    PATRON_STATUS_FLAGS,
    REQUESTS,
    RESPONSES,
    SUMMARY_FIELDS,
    SUPPORTED_MESSAGES_ORDER,
    MessageSpec,
)

MAX_FIELD_CHARS = 255
# The 3M guide defines no escape for "|" inside data, so any escape sequence would be shown
# literally on the kiosk screen.  "/" is ASCII (survives UTF-8, EUC-KR/CP949 and cp850;
# the look-alike "¦" does not exist in EUC-KR) and reads naturally in titles ("A / B").
PIPE_REPLACEMENT = "/"
_SANITIZE = str.maketrans({"\x00": None, "\r": " ", "\n": " ", "|": PIPE_REPLACEMENT})

_TRIM = b" \t\r\n\x00"  # terminators, padding and telnet CR-NUL around a frame
_RAW_CHECKSUM = re.compile(rb"AZ([0-9A-Fa-f]{3,4})\Z")
_TRAILER = re.compile(r"(?:AY([0-9]{1,2})\|?)?AZ([0-9A-Fa-f]{3,4})\Z")
_SEQUENCE_ONLY = re.compile(r"AY([0-9]{1,2})\|?\Z")
_FIELD_ID = re.compile(r"[A-Z0-9]{2}")
_TERMINATORS = (b"\r", b"\r\n", b"\n")


class FrameError(ValueError):
    """An undecodable frame.  The only exception ``decode_*`` raises for any input bytes."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code  # the two-digit command when known, e.g. to answer 96


class EmptyFrame(FrameError):
    pass


class MalformedFrame(FrameError):
    """Does not start with a two-digit command: garbage, binary, a TLS handshake..."""


class UnknownCommand(FrameError):
    pass


class FixedPartTooShort(FrameError):
    pass


class EncodeError(ValueError):
    """A handler asked to send something that is not valid SIP2 (a bug on our side)."""


# --- checksums (over bytes, trap 12) -------------------------------------------------


def checksum(data: bytes) -> str:
    """Two's complement of the 16-bit byte sum, 4 upper-case hex digits."""
    return f"{-sum(data) & 0xFFFF:04X}"


def verify_checksum(frame: bytes) -> bool:
    """True if ``frame`` ends with ``AZ`` + a valid checksum (3-4 hex digits, any case)."""
    frame = bytes(frame).rstrip(_TRIM)
    m = _RAW_CHECKSUM.search(frame)
    if m is None:
        return False
    body, value = frame[: m.start(1)], int(m.group(1), 16)
    if (sum(body) + value) & 0xFFFF == 0:
        return True
    # Leading padding the decoder skips may or may not have been summed by the client.
    trimmed = body.lstrip(_TRIM)
    return trimmed != body and (sum(trimmed) + value) & 0xFFFF == 0


# --- decoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    code: str
    name: str
    fixed: dict[str, str]  # raw fixed-part values by name (dates keep their blanks)
    fields: dict[str, list[str]]  # variable fields by id, repeats kept in order
    sequence: int | None = None  # AY, echoed in the reply
    checksum_present: bool = False
    checksum_ok: bool = False  # True only when present and correct
    received_checksum: str | None = None  # AZ normalised to 4 upper-case hex digits
    unknown_fields: tuple[str, ...] = ()  # ids the guide does not define for this message
    raw: bytes = b""

    def get(self, field_id: str, default: str | None = None) -> str | None:
        """First value of a variable field, or ``default`` when absent."""
        values = self.fields.get(field_id)
        return values[0] if values else default

    def all(self, field_id: str) -> list[str]:
        return list(self.fields.get(field_id, ()))


@dataclass(frozen=True)
class Request(Message):
    pass


@dataclass(frozen=True)
class Response(Message):
    pass


def _decoding_codec(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    # CP949 is a superset of EUC-KR; "EUC-KR" kiosks often send CP949 syllables anyway.
    return "cp949" if name == "euc_kr" else name


def _preview(raw: bytes) -> str:
    return repr(raw[:40]) + ("..." if len(raw) > 40 else "")


def _decode(frame: bytes, encoding: str, table: dict[str, MessageSpec], cls: type) -> Message:
    frame = bytes(frame)
    raw = frame.strip(_TRIM)
    if not raw:
        raise EmptyFrame("empty frame")
    # Decode first, split later: "|" must never be found inside a multibyte character.
    text = raw.decode(_decoding_codec(encoding), errors="replace")
    code = text[:2]
    if len(code) < 2 or not (code.isascii() and code.isdigit()):
        raise MalformedFrame(f"frame does not start with a two-digit command: {_preview(raw)}")
    spec = table.get(code)
    if spec is None:
        raise UnknownCommand(f"unknown command {code}: {_preview(raw)}", code=code)
    end = 2 + spec.fixed_length
    if len(text) < end:
        raise FixedPartTooShort(
            f"{code} ({spec.name}) needs {spec.fixed_length} fixed-part characters, "
            f"got {len(text) - 2}: {_preview(raw)}",
            code=code,
        )
    fixed, pos = {}, 2
    for name, length in spec.fixed:
        fixed[name] = text[pos : pos + length]
        pos += length
    rest = text[end:]

    sequence, present, ok, received = None, False, False, None
    m = _TRAILER.search(rest)
    if m is not None:
        at_boundary = m.start() == 0 or rest[m.start() - 1] == "|"
        ok = verify_checksum(frame)
        # Off a field boundary "AZxxxx" could be data of a pipe-less last field;
        # only a checksum that verifies proves it is the trailer.
        if at_boundary or ok:
            present, received = True, m.group(2).upper().zfill(4)
            sequence = int(m.group(1)) if m.group(1) else None
            rest = rest[: m.start()]
    else:
        m = _SEQUENCE_ONLY.search(rest)
        if m is not None and (m.start() == 0 or rest[m.start() - 1] == "|"):
            sequence = int(m.group(1))
            rest = rest[: m.start()]

    fields: dict[str, list[str]] = {}
    for segment in rest.split("|"):
        if not segment:
            continue
        fid, value = segment[:2], segment[2:]
        if fid in ID_FIELDS:
            value = value.strip()  # trap 14: " $111001EM123 " from scanners
        fields.setdefault(fid, []).append(value)
    unknown = tuple(f for f in fields if f not in spec.fields)
    return cls(code, spec.name, fixed, fields, sequence, present, ok, received, unknown, raw)


def decode_request(frame: bytes, encoding: str = "utf-8") -> Request:
    """Decode one request frame (terminator optional).  Raises only ``FrameError``."""
    return _decode(frame, encoding, REQUESTS, Request)


def decode_response(frame: bytes, encoding: str = "utf-8") -> Response:
    """Decode a response frame: for test clients and kiosk simulators."""
    return _decode(frame, encoding, RESPONSES, Response)


# --- encoding ---------------------------------------------------------------------------


def sanitize(value: str) -> str:
    """What a field value becomes on the wire: no NUL, CR/LF -> space, | -> /, 255 chars."""
    return value.replace("\r\n", " ").translate(_SANITIZE)[:MAX_FIELD_CHARS]


def _fixed_values(spec: MessageSpec, fixed: Sequence[str] | Mapping[str, str] | str) -> list[str]:
    if isinstance(fixed, str):
        if len(fixed) != spec.fixed_length:
            raise EncodeError(f"{spec.code}: fixed part must be {spec.fixed_length} characters")
        values, pos = [], 0
        for _, length in spec.fixed:
            values.append(fixed[pos : pos + length])
            pos += length
    elif isinstance(fixed, Mapping):
        names = spec.fixed_names
        wrong = set(names) ^ set(fixed)
        if wrong:
            raise EncodeError(f"{spec.code}: fixed fields missing/unknown: {sorted(wrong)}")
        values = [fixed[name] for name in names]
    else:
        values = list(fixed)
        if len(values) != len(spec.fixed):
            raise EncodeError(f"{spec.code}: expected {len(spec.fixed)} fixed fields")
    for (name, length), value in zip(spec.fixed, values, strict=True):
        if not isinstance(value, str) or len(value) != length:
            raise EncodeError(f"{spec.code}.{name} must be a {length}-character str: {value!r}")
        if not (value.isascii() and value.isprintable()) or "|" in value:
            raise EncodeError(f"{spec.code}.{name} must be printable ASCII without |: {value!r}")
    return values


def _encode(
    table: Mapping[str, MessageSpec],
    code: str,
    fixed: Sequence[str] | Mapping[str, str] | str,
    fields: Iterable[tuple[str, str | None]],
    encoding: str,
    error_detection: bool,
    sequence: int | None,
    terminator: bytes,
) -> bytes:
    spec = table.get(code)
    if spec is None:
        raise EncodeError(f"no such message: {code!r}")
    if terminator not in _TERMINATORS:
        raise EncodeError(f"terminator must be CR, CRLF or LF: {terminator!r}")
    parts = [code, *_fixed_values(spec, fixed)]
    for fid, value in fields:
        if value is None:  # convenience: optional fields the handler has no value for
            continue
        if not isinstance(fid, str) or not _FIELD_ID.fullmatch(fid) or fid in ("AY", "AZ"):
            raise EncodeError(f"bad field id {fid!r} (AY/AZ are added by the encoder)")
        if not isinstance(value, str):
            raise EncodeError(f"field {fid} must be a str, got {type(value).__name__}")
        parts.append(f"{fid}{sanitize(value)}|")
    if error_detection:
        seq = 0 if sequence is None else sequence
        if not isinstance(seq, int) or not 0 <= seq <= 99:
            raise EncodeError(f"bad sequence number {sequence!r}")
        parts.append(f"AY{seq}AZ")
    # Characters the terminal's encoding lacks become "?" rather than failing the reply.
    data = "".join(parts).encode(encoding, errors="replace")
    if error_detection:
        data += checksum(data).encode("ascii")  # over the encoded bytes
    return data + terminator


def encode_response(
    code: str,
    fixed: Sequence[str] | Mapping[str, str] | str,
    fields: Iterable[tuple[str, str | None]] = (),
    *,
    encoding: str = "utf-8",
    error_detection: bool = False,
    sequence: int | None = None,
    terminator: bytes = b"\r",
    table: Mapping[str, MessageSpec] | None = None,
) -> bytes:
    """One complete response frame.  ``fixed`` is a list in wire order, a dict by name
    (see ``messages.RESPONSES``) or the whole fixed part as one string.  Fields with a
    ``None`` value are skipped; ``""`` is sent as an empty field (e.g. ``AE|``).
    ``table`` selects another response table (e.g. ``messages.UNSUPPORTED_RESPONSES``)."""
    return _encode(RESPONSES if table is None else table, code, fixed, fields, encoding,
                   error_detection, sequence, terminator)


def encode_request(
    code: str,
    fixed: Sequence[str] | Mapping[str, str] | str,
    fields: Iterable[tuple[str, str | None]] = (),
    *,
    encoding: str = "utf-8",
    error_detection: bool = False,
    sequence: int | None = None,
    terminator: bytes = b"\r",
) -> bytes:
    """Same as ``encode_response`` for requests: for test clients and kiosk simulators."""
    return _encode(REQUESTS, code, fixed, fields, encoding, error_detection, sequence,
                   terminator)


# --- field helpers ----------------------------------------------------------------------


def sip_datetime(dt: datetime | None = None, tz: tzinfo | None = None) -> str:
    """``YYYYMMDDZZZZHHMMSS`` in local time (ZZZZ blank).  Aware datetimes are converted to
    ``tz`` (default: the system zone); naive ones are taken as already local."""
    if dt is None:
        dt = datetime.now(tz)
    elif dt.tzinfo is not None:
        dt = dt.astimezone(tz)
    return f"{dt.year:04d}{dt.month:02d}{dt.day:02d}    {dt.hour:02d}{dt.minute:02d}{dt.second:02d}"


def parse_sip_datetime(value: str | None, tz: tzinfo | None = None) -> datetime | None:
    """Parse a SIP date; 18 blanks, wrong length or garbage -> None (trap 5).

    Without ``tz`` the result is naive local time; with ``tz`` it is aware in ``tz``.
    A ``Z`` at the end of ZZZZ marks UTC, which is converted accordingly."""
    if not isinstance(value, str) or len(value) != 18:
        return None
    digits = value[:8] + value[12:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        dt = datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[12:14]), int(value[14:16]), int(value[16:18]),
        )
        if value[8:12].endswith("Z"):
            dt = dt.replace(tzinfo=UTC).astimezone(tz)
            return dt if tz is not None else dt.replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None
    return dt.replace(tzinfo=tz) if tz is not None else dt


def yn(value: bool) -> str:
    return "Y" if value else "N"


def patron_status_flags(**flags: bool) -> str:
    """14-character patron status; ``Y`` where a flag is true, blank otherwise."""
    unknown = set(flags) - set(PATRON_STATUS_FLAGS)
    if unknown:
        raise TypeError(f"unknown patron status flag(s): {sorted(unknown)}")
    return "".join("Y" if flags.get(name) else " " for name in PATRON_STATUS_FLAGS)


def supported_messages(codes: Iterable[str]) -> str:
    """The 16-character BX value of 98 for the request codes we answer."""
    codes = set(codes)
    return "".join(yn(code in codes) for code in SUPPORTED_MESSAGES_ORDER)


def summary_field(summary: str) -> str | None:
    """The item-list field id (AS/AT/AU/AV/BU/CD) a 63 summary asks for, or None."""
    for position, flag in enumerate(summary[: len(SUMMARY_FIELDS)]):
        if flag in "Yy":
            return SUMMARY_FIELDS[position]
    return None


def count(value: int | None, width: int = 4) -> str:
    """Zero-padded count for fixed fields (clamped to fit); None -> blanks (unknown)."""
    if value is None:
        return " " * width
    return str(max(0, min(int(value), 10**width - 1))).zfill(width)


def amount(value: Decimal | int | float | str, places: int = 2) -> str:
    """Money as SIP text: always ``.`` as decimal separator, no grouping (trap 14)."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if not d.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{abs(d) if d == 0 else d:f}"


_AMOUNT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_GROUPED = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+")


def parse_amount(value: str | None) -> Decimal | None:
    """Lenient amount from a kiosk (``1500``, ``1500.00``, ``1,500``, ``15,50``) or None."""
    if not isinstance(value, str):
        return None
    s = value.strip().replace(" ", "")
    if "," in s and "." in s:
        s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", "") if _GROUPED.fullmatch(s) else s.replace(",", ".")
    return Decimal(s) if _AMOUNT.fullmatch(s) else None
