"""One SIP2 connection's protocol state: login, encoding, error detection, resends and
duplicate suppression.  No sockets here (see server.py) and no business rules (see
handlers/): ``Session.process`` turns one frame into the bytes to send back.

``process`` runs in a worker thread; a connection handles one request at a time, so a
session is never used by two threads at once.  ``Shared`` is used by all sessions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import metrics
from ..domain.actors import Actor, Role
from .codec import (
    EncodeError,
    FixedPartTooShort,
    FrameError,
    MalformedFrame,
    Request,
    UnknownCommand,
    decode_request,
    encode_response,
)
from .handlers import MUTATING, Context, Reply, handle, unsupported
from .handlers.common import mask
from .messages import UNSUPPORTED_REPLY_FOR

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("chaekieum.sip2")

LOGIN_CACHE_SECONDS = 30.0
MAX_BAD_FRAMES = 3  # consecutive undecodable frames before the connection is dropped
MAX_UNAUTHENTICATED = 5  # refused requests before login before the connection is dropped
TERMINATORS = {"CR": b"\r", "CRLF": b"\r\n", "LF": b"\n"}
_RESEND = ("97", "96")


@dataclass(frozen=True)
class Terminal:
    login: str
    library_code: str
    encoding: str = "utf-8"
    terminator: bytes = b"\r"
    error_detection: bool = True
    environment: str = "live"  # "sandbox": a sandbox-only kiosk login (domain/sandbox.py)

    @classmethod
    def from_credentials(cls, info: dict) -> Terminal:
        return cls(info["login"], info["library_code"], info.get("encoding") or "utf-8",
                   TERMINATORS.get(info.get("terminator") or "CR", b"\r"),
                   bool(info.get("error_detection", True)),
                   info.get("environment") or "live")


class Shared:
    """State all connections share: the backend, a short login cache and, per terminal,
    the last state-changing request and its response (a replay after a reconnect)."""

    def __init__(self, backend: Backend, login_cache_seconds: float = LOGIN_CACHE_SECONDS):
        self.backend = backend
        self.login_cache_seconds = login_cache_seconds
        self._lock = threading.Lock()
        self._logins: dict[str, tuple[float, Terminal]] = {}
        self._verifying: dict[str, threading.Lock] = {}
        self._last: dict[str, tuple[bytes, bytes]] = {}

    def verify_terminal(self, login: str, password: str, peer: str) -> Terminal | None:
        """Argon2 costs tens of milliseconds: a kiosk fleet reconnecting at opening time
        would queue on it, so a successful check is remembered briefly (by a SHA-256 of
        login and password, in memory only). The account's state (locked after failed
        logins from any connection, revoked) is asked of the backend every time."""
        digest = hashlib.sha256(f"{login}\x00{password}".encode()).hexdigest()
        credentials = self.backend
        hit = self._logins.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1] if credentials.verify_terminal(login, password, peer, cached=True) \
                else None
        with self._lock:  # one check per credentials at a time: the others wait for it
            gate = self._verifying.setdefault(digest, threading.Lock())
        with gate:
            hit = self._logins.get(digest)
            if hit and hit[0] > time.monotonic():
                info = credentials.verify_terminal(login, password, peer, cached=True)
                return hit[1] if info else None
            info = credentials.verify_terminal(login, password, peer)
            terminal = Terminal.from_credentials(info) if info is not None else None
            with self._lock:
                self._verifying.pop(digest, None)
                if terminal is not None:
                    self._logins[digest] = (time.monotonic() + self.login_cache_seconds,
                                            terminal)
        return terminal

    def forget_logins(self) -> None:
        with self._lock:
            self._logins.clear()

    def last_for(self, login: str) -> tuple[bytes, bytes] | None:
        return self._last.get(login)

    def remember(self, login: str, request: bytes, response: bytes) -> None:
        with self._lock:
            self._last[login] = (request, response)


@dataclass
class Action:
    data: bytes | None = None  # what to send (one write)
    close: bool = False  # close the connection after sending
    delay: float = 0.0  # wait before sending


class Session:
    def __init__(self, shared: Shared, peer: str):
        self.shared = shared
        self.peer = peer
        self.terminal: Terminal | None = None
        self.location = ""
        self.last_response: bytes | None = None  # for 97
        # the last state-changing request and its response (a duplicate AY+AZ), kept as
        # a pair: other requests in between replace last_response, not this
        self.last_mutation: tuple[bytes, bytes] | None = None
        self.bad_frames = 0
        self.unauthenticated = 0
        self.requests = 0

    # -- identity ------------------------------------------------------------------
    def login(self, terminal: Terminal, location: str) -> None:
        self.terminal = terminal
        self.location = location
        self.unauthenticated = 0

    def actor(self) -> Actor:
        t = self.terminal
        if t is None:
            return Actor(Role.TERMINAL, "sip2:-", "sip2")
        return Actor(Role.TERMINAL, f"sip2:{t.login}", "sip2", library_code=t.library_code,
                     environment=t.environment)

    @property
    def label(self) -> str:
        return self.terminal.login if self.terminal else "-"

    @property
    def encoding(self) -> str:
        return self.terminal.encoding if self.terminal else "utf-8"

    @property
    def terminator(self) -> bytes:
        return self.terminal.terminator if self.terminal else b"\r"

    def _error_detection(self, req: Request | None) -> bool:
        if self.terminal is not None:
            return self.terminal.error_detection
        return bool(req is not None and req.checksum_present)  # before login: mirror

    # -- one frame -----------------------------------------------------------------
    def process(self, frame: bytes) -> Action:
        try:
            req = decode_request(frame, self.encoding)
        except FrameError as exc:
            return self._undecodable(frame, exc)
        self.bad_frames = 0
        self.requests += 1
        ed = self._error_detection(req)
        if ed and req.checksum_present and not req.checksum_ok:
            log.warning("sip2 %s: %s bad checksum AZ%s on %s; asking for a resend (96)",
                        self.peer, self.label, req.received_checksum, req.code)
            return Action(self._resend_request(ed))
        if req.code in _RESEND:
            if self.last_response is None:
                return Action(self._resend_request(ed))
            return Action(self.last_response)
        duplicate = self._duplicate(req)
        if duplicate is not None:
            log.info("sip2 %s: %s repeated %s with the same AY%s AZ%s; resending the stored "
                     "response, not applying it again", self.peer, self.label, req.code,
                     req.sequence, req.received_checksum)
            self.last_response = duplicate
            return Action(duplicate)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("sip2 %s: %s -> %s AA=%s AB=%s", self.peer, self.label, req.code,
                      mask(req.get("AA")), (req.get("AB") or "-")[:40])
        started = time.perf_counter()
        reply = handle(Context(self.shared.backend, self), req)
        metrics.SIP2_SECONDS.labels(req.code).observe(time.perf_counter() - started)
        data = self._encode(reply, req)
        if data is None:
            return Action(close=True)
        self.last_response = data
        if req.code in MUTATING and req.checksum_present and self.terminal is not None:
            self.last_mutation = (req.raw, data)
            self.shared.remember(self.terminal.login, req.raw, data)
        close = False
        if self.terminal is None and req.code != "99":  # failed login or refused request
            self.unauthenticated += 1
            close = self.unauthenticated >= MAX_UNAUTHENTICATED
        if close:
            log.warning("sip2 %s: %d requests without a successful login; closing",
                        self.peer, self.unauthenticated)
        return Action(data, close=close or reply.close, delay=reply.delay)

    def _duplicate(self, req: Request) -> bytes | None:
        """The stored response when this exact state-changing frame (same AY and AZ) was
        already answered on this connection or, before a reconnect, for this terminal."""
        if req.code not in MUTATING or not req.checksum_present or self.terminal is None:
            return None
        for stored in (self.last_mutation, self.shared.last_for(self.terminal.login)):
            if stored is not None and stored[0] == req.raw:
                return stored[1]
        return None

    def _encode(self, reply: Reply, req: Request | None) -> bytes | None:
        kwargs = dict(encoding=self.encoding, error_detection=self._error_detection(req),
                      sequence=req.sequence if req is not None else None,
                      terminator=self.terminator)
        try:
            return encode_response(reply.code, reply.fixed, reply.fields, table=reply.table,
                                   **kwargs)
        except EncodeError:
            log.exception("sip2 %s: could not encode %s reply; closing", self.peer, reply.code)
            return None

    def _resend_request(self, error_detection: bool) -> bytes:
        """96, in its conventional form "96AZFEF6" (no sequence number of its own)."""
        return (b"96AZFEF6" if error_detection else b"96") + self.terminator

    def _undecodable(self, frame: bytes, exc: FrameError) -> Action:
        code = getattr(exc, "code", None)
        if isinstance(exc, UnknownCommand) and code in UNSUPPORTED_REPLY_FOR:
            self.bad_frames = 0
            log.info("sip2 %s: %s sent %s, which this server does not support (BX says N)",
                     self.peer, self.label, code)
            reply = unsupported(Context(self.shared.backend, self), UNSUPPORTED_REPLY_FOR[code])
            data = self._encode(reply, None)
            return Action(data, close=data is None)
        self.bad_frames += 1
        close = self.bad_frames >= MAX_BAD_FRAMES
        preview = bytes(frame[:40])
        if isinstance(exc, FixedPartTooShort):
            # A truncated frame is a transmission error: ask for the request again.
            log.warning("sip2 %s: %s %s", self.peer, self.label, exc)
            ed = self._error_detection(None) or b"AZ" in frame
            return Action(self._resend_request(ed), close=close)
        kind = "unknown command" if isinstance(exc, UnknownCommand) else (
            "not SIP2" if isinstance(exc, MalformedFrame) else "undecodable")
        log.warning("sip2 %s: %s frame (%s) from %s ignored%s: %r", self.peer, kind,
                    type(exc).__name__, self.label,
                    "; closing after repeated bad frames" if close else "", preview)
        return Action(None, close=close)
