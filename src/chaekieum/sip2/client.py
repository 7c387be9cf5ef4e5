"""A small SIP2 client (a kiosk simulator) for tests, the benchmark and trying the demo.

    python -m chaekieum.sip2.client --port 6001 --login kiosk-111001 \\
        --password kiosk-pass-111001 checkout 11100126000013 '$111001EM0000000001'

Subcommands: status, patron, info, item, checkout, checkin, renew, renew-all, raw.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Iterable
from datetime import datetime

from .codec import Response, checksum, decode_response, encode_request, sip_datetime
from .messages import BLANK_DATE, LANGUAGE_UNKNOWN

Fields = Iterable[tuple[str, str | None]]


def _now() -> str:
    return sip_datetime(datetime.now())


def raw_frame(text: str, sequence: int | None = 0, encoding: str = "utf-8") -> bytes:
    """``text`` sent as typed (no validation, for odd frames), with ``AY``/``AZ`` unless
    ``sequence`` is None, and a CR."""
    data = text.encode(encoding)
    if sequence is not None:
        data += f"AY{sequence}AZ".encode()
        data += checksum(data).encode()
    return data + b"\r"


class _Requests:
    """Request builders shared by the blocking and the asyncio client."""

    encoding = "utf-8"
    error_detection = True
    terminator = b"\r"
    institution = ""
    _seq = 0

    def frame(self, code: str, fixed: list[str] | str, fields: Fields = ()) -> bytes:
        seq = self._seq
        self._seq = (self._seq + 1) % 10
        return encode_request(code, fixed, list(fields), encoding=self.encoding,
                              error_detection=self.error_detection, sequence=seq,
                              terminator=self.terminator)

    def login_frame(self, login: str, password: str, location: str = "") -> bytes:
        return self.frame("93", ["0", "0"], [("CN", login), ("CO", password),
                                             ("CP", location or None)])

    def status_frame(self) -> bytes:
        return self.frame("99", ["0", "040", "2.00"])

    def patron_status_frame(self, patron: str, password: str | None = None) -> bytes:
        return self.frame("23", [LANGUAGE_UNKNOWN, _now()],
                          [("AO", self.institution), ("AA", patron), ("AC", ""),
                           ("AD", password)])

    def patron_info_frame(self, patron: str, summary: str = " " * 10,
                          start: int | None = None, end: int | None = None,
                          password: str | None = None) -> bytes:
        return self.frame("63", [LANGUAGE_UNKNOWN, _now(), summary],
                          [("AO", self.institution), ("AA", patron), ("AD", password),
                           ("BP", str(start) if start else None),
                           ("BQ", str(end) if end else None)])

    def checkout_frame(self, patron: str, item: str, *, no_block: bool = False,
                       when: str | None = None, due: str | None = None) -> bytes:
        return self.frame("11", ["Y", "Y" if no_block else "N", when or _now(),
                                 due or BLANK_DATE],
                          [("AO", self.institution), ("AA", patron), ("AB", item), ("AC", "")])

    def checkin_frame(self, item: str, *, no_block: bool = False, when: str | None = None
                      ) -> bytes:
        when = when or _now()
        return self.frame("09", ["Y" if no_block else "N", when, when],
                          [("AP", self.institution), ("AO", self.institution), ("AB", item),
                           ("AC", "")])

    def renew_frame(self, patron: str, item: str) -> bytes:
        return self.frame("29", ["N", "N", _now(), BLANK_DATE],
                          [("AO", self.institution), ("AA", patron), ("AB", item)])

    def renew_all_frame(self, patron: str) -> bytes:
        return self.frame("65", _now(), [("AO", self.institution), ("AA", patron)])

    def item_info_frame(self, item: str) -> bytes:
        return self.frame("17", _now(), [("AO", self.institution), ("AB", item)])

    def end_session_frame(self, patron: str) -> bytes:
        return self.frame("35", _now(), [("AO", self.institution), ("AA", patron)])


class Sip2Client(_Requests):
    """Blocking client: one request, one response."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6001, *, encoding: str = "utf-8",
                 error_detection: bool = True, terminator: bytes = b"\r",
                 timeout: float = 30.0, institution: str = ""):
        self.encoding = encoding
        self.error_detection = error_detection
        self.terminator = terminator
        self.institution = institution
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        """One response line without its terminator; b"" if the server closed."""
        while True:
            idx = min((i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0),
                      default=-1)
            if idx >= 0:
                line, rest = self._buf[:idx], self._buf[idx + 1:]
                if self._buf[idx:idx + 2] == b"\r\n":
                    rest = self._buf[idx + 2:]
                self._buf = rest
                if line:
                    return line
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self._buf = self._buf, b""
                return line
            self._buf += chunk

    def request(self, frame: bytes) -> Response:
        self.sock.sendall(frame)
        return decode_response(self.read_line(), self.encoding)

    def login(self, login: str, password: str, location: str = "") -> bool:
        return self.request(self.login_frame(login, password, location)).fixed["ok"] == "1"

    def status(self) -> Response:
        return self.request(self.status_frame())

    def patron_status(self, patron: str, password: str | None = None) -> Response:
        return self.request(self.patron_status_frame(patron, password))

    def patron_info(self, patron: str, summary: str = " " * 10, start: int | None = None,
                    end: int | None = None, password: str | None = None) -> Response:
        return self.request(self.patron_info_frame(patron, summary, start, end, password))

    def checkout(self, patron: str, item: str, **kw: object) -> Response:
        return self.request(self.checkout_frame(patron, item, **kw))  # type: ignore[arg-type]

    def checkin(self, item: str, **kw: object) -> Response:
        return self.request(self.checkin_frame(item, **kw))  # type: ignore[arg-type]

    def renew(self, patron: str, item: str) -> Response:
        return self.request(self.renew_frame(patron, item))

    def renew_all(self, patron: str) -> Response:
        return self.request(self.renew_all_frame(patron))

    def item_info(self, item: str) -> Response:
        return self.request(self.item_info_frame(item))

    def end_session(self, patron: str) -> Response:
        return self.request(self.end_session_frame(patron))


class AsyncSip2Client(_Requests):
    """asyncio client for many concurrent terminals (benchmark, load tests)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 encoding: str = "utf-8", error_detection: bool = True):
        self.reader, self.writer = reader, writer
        self.encoding = encoding
        self.error_detection = error_detection

    @classmethod
    async def connect(cls, host: str, port: int, **kw: object) -> AsyncSip2Client:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, **kw)  # type: ignore[arg-type]

    async def request(self, frame: bytes) -> Response:
        self.writer.write(frame)
        await self.writer.drain()
        line = await self.reader.readuntil(b"\r")
        return decode_response(line, self.encoding)

    async def login(self, login: str, password: str) -> bool:
        return (await self.request(self.login_frame(login, password))).fixed["ok"] == "1"

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def describe(resp: Response) -> str:
    lines = [f"{resp.code} {resp.name}"]
    lines += [f"  {k}: {v!r}" for k, v in resp.fixed.items()]
    for fid, values in resp.fields.items():
        for value in values:
            lines.append(f"  {fid}: {value}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chaekieum.sip2.client",
                                description="Talk SIP2 to a 책이음 hub like a kiosk.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6001)
    p.add_argument("--login", default="kiosk-111001")
    p.add_argument("--password", default="kiosk-pass-111001")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--no-error-detection", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status")
    for name in ("patron", "info", "renew-all"):
        sub.add_parser(name).add_argument("patron")
    sub.add_parser("item").add_argument("item")
    sub.add_parser("checkin").add_argument("item")
    for name in ("checkout", "renew"):
        sp = sub.add_parser(name)
        sp.add_argument("patron")
        sp.add_argument("item")
    sub.add_parser("raw").add_argument("frame", help="e.g. '9900302.00' (no terminator)")
    args = p.parse_args(argv)
    with Sip2Client(args.host, args.port, encoding=args.encoding,
                    error_detection=not args.no_error_detection) as c:
        if not c.login(args.login, args.password):
            print("login refused (94 ok=0)", file=sys.stderr)
            return 2
        if args.cmd == "raw":
            c.send_raw(raw_frame(args.frame, None, args.encoding))
            print(c.read_line().decode(args.encoding, "replace"))
            return 0
        resp = {
            "status": lambda: c.status(),
            "patron": lambda: c.patron_status(args.patron),
            "info": lambda: c.patron_info(args.patron, "  Y       "),
            "renew-all": lambda: c.renew_all(args.patron),
            "item": lambda: c.item_info(args.item),
            "checkin": lambda: c.checkin(args.item),
            "checkout": lambda: c.checkout(args.patron, args.item),
            "renew": lambda: c.renew(args.patron, args.item),
        }[args.cmd]()
        print(describe(resp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
