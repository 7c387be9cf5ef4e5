"""connector.toml: read, check every field, report every problem at once.

    hub_url = "https://chaekieum.example.kr"
    library = "111001"                 # 도서관부호
    api_key = "ck_<id>_<secret>"       # the library's hub API key
    listen = "0.0.0.0:8700"            # local API for the library's LAN
    sip2_listen = "0.0.0.0:6001"       # optional: SIP2 for the library's kiosks
    data_dir = "/var/lib/chaekieum-connector"
    offline_policy = "refuse"          # or "allow:2": unknown members get 2 offline loans

    [tokens]                           # one local token per workstation or device
    desk-1 = "a-long-random-token"

    [[adapters]]
    type = "outbox-sql"                # a name from chaekieum.connector.adapters.ADAPTERS
    name = "kolas"                     # optional, default = type; unique
    [adapters.options]
    ...
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .adapters import ADAPTERS, Adapter, ConfigError

KNOWN = {"hub_url", "library", "api_key", "listen", "sip2_listen", "data_dir", "offline_policy", "tokens",
         "adapters", "forward_timeout", "snapshot_interval", "snapshot_full_interval",
         "snapshot_blocked_interval", "poll_interval", "log_level", "replay_batch",
         "acceptance_switches"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class ConfigProblems(Exception):
    """The configuration is wrong: `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class OfflinePolicy:
    """What an offline checkout does for a member the snapshot does not know."""

    allow_unknown: int = 0  # offline loans allowed per unknown member (0 = refuse)

    def __str__(self) -> str:
        return f"allow:{self.allow_unknown}" if self.allow_unknown else "refuse"


@dataclass
class Config:
    hub_url: str
    library: str
    api_key: str
    host: str
    port: int
    data_dir: Path
    offline_policy: OfflinePolicy = field(default_factory=OfflinePolicy)
    tokens: dict[str, str] = field(default_factory=dict)  # name -> token
    sip2_host: str = ""  # kiosks' SIP2 port (sip2_listen); port 0 = none
    sip2_port: int = 0
    adapters: list[tuple[str, Adapter]] = field(default_factory=list)  # (name, adapter)
    forward_timeout: float = 3.0  # seconds for an online write before going offline
    snapshot_interval: float = 30.0  # seconds between snapshot deltas
    snapshot_full_interval: float = 900.0  # seconds between full passes of own members
    snapshot_blocked_interval: float = 86400.0  # seconds between full passes of everything
    poll_interval: float = 1.0  # seconds between adapter polls and feed reads
    replay_batch: int = 200  # queued writes per replay request
    log_level: str = "INFO"
    acceptance_switches: bool = False  # the conformance kit may switch the uplink off

    @property
    def db_path(self) -> Path:
        return self.data_dir / "connector.db"


def _number(raw: Mapping[str, Any], key: str, default: float, low: float, high: float,
            problems: list[str]) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        problems.append(f"{key}: a number of seconds between {low:g} and {high:g}, "
                        f"got {value!r}")
        return default
    return float(value)


def parse(raw: Mapping[str, Any], *, base: Path | None = None,
          build_adapters: bool = True) -> Config:
    problems: list[str] = []
    for key in sorted(set(raw) - KNOWN):
        problems.append(f"{key}: unknown setting")

    hub_url = raw.get("hub_url")
    parsed = urlparse(hub_url) if isinstance(hub_url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"hub_url: an http(s) URL of the hub is required, got {hub_url!r}")
    library = raw.get("library")
    if not isinstance(library, str) or not re.fullmatch(r"\d{6}", library):
        problems.append(f"library: the 6-digit 도서관부호 is required, got {library!r}")
    api_key = raw.get("api_key")
    if not isinstance(api_key, str) or not re.fullmatch(r"ck_[^_\s]+_\S+", api_key):
        problems.append("api_key: the library's hub API key (ck_<id>_<secret>) is required")

    host, port = "127.0.0.1", 0
    listen = raw.get("listen")
    m = re.fullmatch(r"(.+):(\d{1,5})", listen) if isinstance(listen, str) else None
    if m is None or not 0 < int(m[2]) < 65536:
        problems.append(f"listen: host:port to serve the local API on, got {listen!r}")
    else:
        host, port = m[1].strip("[]"), int(m[2])

    sip2_host, sip2_port = "", 0
    sip2_listen = raw.get("sip2_listen")
    if sip2_listen is not None:
        m = re.fullmatch(r"(.+):(\d{1,5})", sip2_listen) if isinstance(sip2_listen, str) else None
        if m is None or not 0 < int(m[2]) < 65536 or (int(m[2]) == port and m[1] == host):
            problems.append(f"sip2_listen: host:port for kiosks (SIP2), not the local API's, "
                            f"got {sip2_listen!r}")
        else:
            sip2_host, sip2_port = m[1].strip("[]"), int(m[2])

    data_dir = raw.get("data_dir")
    path = Path(".")
    if not isinstance(data_dir, str) or not data_dir:
        problems.append("data_dir: a directory for the connector's queue is required")
    else:
        path = Path(data_dir)
        if base is not None and not path.is_absolute():
            path = base / path
        if path.exists() and not path.is_dir():
            problems.append(f"data_dir: {data_dir} exists and is not a directory")

    policy = OfflinePolicy()
    op = raw.get("offline_policy", "refuse")
    pm = re.fullmatch(r"refuse|allow:(\d{1,2})", op) if isinstance(op, str) else None
    if pm is None:
        problems.append(f'offline_policy: "refuse" or "allow:N" (N offline loans for a '
                        f'member the snapshot does not know), got {op!r}')
    elif pm[1]:
        policy = OfflinePolicy(int(pm[1]))

    tokens: dict[str, str] = {}
    raw_tokens = raw.get("tokens", {})
    if not isinstance(raw_tokens, dict):
        problems.append("tokens: a table of name = token")
    else:
        for name, token in raw_tokens.items():
            if not _NAME.match(name):
                problems.append(f"tokens.{name}: names are letters, digits, - _ . (max 40)")
            elif not isinstance(token, str) or len(token) < 16:
                problems.append(f"tokens.{name}: a token of at least 16 characters")
            else:
                tokens[name] = token
        if len(set(tokens.values())) != len(tokens):
            problems.append("tokens: two devices share one token")

    adapters: list[tuple[str, Adapter]] = []
    raw_adapters = raw.get("adapters", [])
    if not isinstance(raw_adapters, list):
        problems.append("adapters: a list of [[adapters]] tables")
        raw_adapters = []
    names: set[str] = set()
    for n, entry in enumerate(raw_adapters, start=1):
        where = f"adapters[{n}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: a table with type, name, options")
            continue
        for key in sorted(set(entry) - {"type", "name", "options"}):
            problems.append(f"{where}.{key}: unknown setting (type, name, options)")
        kind = entry.get("type")
        cls = ADAPTERS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            problems.append(f"{where}.type: one of {', '.join(sorted(ADAPTERS))}, got {kind!r}")
            continue
        name = entry.get("name", kind)
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{where}.name: letters, digits, - _ . (max 40), got {name!r}")
            continue
        if name in names:
            problems.append(f"{where}.name: {name!r} is used twice")
        names.add(name)
        options = entry.get("options", {})
        if not isinstance(options, dict):
            problems.append(f"{where}.options: a table")
            continue
        if not build_adapters:
            continue
        try:
            adapter = cls(options)
        except ConfigError as exc:
            problems.extend(f"{where} ({name}): {p}" for p in exc.problems)
            continue
        adapters.append((name, adapter))

    timeouts = {
        "forward_timeout": _number(raw, "forward_timeout", 3.0, 0.1, 60, problems),
        "snapshot_interval": _number(raw, "snapshot_interval", 30.0, 1, 3600, problems),
        "snapshot_full_interval": _number(raw, "snapshot_full_interval", 900.0, 10, 86400,
                                          problems),
        "snapshot_blocked_interval": _number(raw, "snapshot_blocked_interval", 86400.0, 10,
                                             7 * 86400, problems),
        "poll_interval": _number(raw, "poll_interval", 1.0, 0.05, 600, problems),
    }
    batch = raw.get("replay_batch", 200)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 500:
        problems.append(f"replay_batch: a whole number from 1 to 500, got {batch!r}")
        batch = 200
    level = raw.get("log_level", "INFO")
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"log_level: DEBUG, INFO, WARNING or ERROR, got {level!r}")
    switches = raw.get("acceptance_switches", False)
    if not isinstance(switches, bool):
        problems.append(f"acceptance_switches: true or false, got {switches!r}")
    if problems:
        raise ConfigProblems(problems)
    return Config(hub_url=hub_url.rstrip("/"), library=library, api_key=api_key, host=host,
                  port=port, data_dir=path, offline_policy=policy, tokens=tokens,
                  sip2_host=sip2_host, sip2_port=sip2_port, adapters=adapters, log_level=level,
                  replay_batch=batch, acceptance_switches=switches, **timeouts)


def load(path: str | Path, *, build_adapters: bool = True) -> Config:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigProblems([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigProblems([f"{path}: cannot read ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([f"{path}: not valid TOML ({exc})"]) from None
    return parse(raw, base=path.parent, build_adapters=build_adapters)
