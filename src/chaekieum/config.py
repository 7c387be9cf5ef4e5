"""Settings from the environment, with embedded defaults that need nothing installed."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def var_dir() -> Path:
    return Path(os.environ.get("CHAEKIEUM_HOME", Path.cwd() / "var")).resolve()


def default_database_url() -> str:
    return os.environ.get("CHAEKIEUM_DATABASE_URL") or f"sqlite:///{var_dir() / 'chaekieum.db'}"


def secret_key() -> bytes:
    """Server secret (session signing, CI-hash pepper): env, else a file made once."""
    env = os.environ.get("CHAEKIEUM_SECRET_KEY")
    if env:
        return env.encode()
    path = var_dir() / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def forwarded_allow_ips() -> str:
    """Proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or
    networks); default none: the peer address is the client."""
    return os.environ.get("CHAEKIEUM_FORWARDED_ALLOW_IPS", "").strip()


def writes_on_loop() -> bool:
    """PostgreSQL: the API's hot writes run on the event loop, not in request threads
    (`CHAEKIEUM_WRITES_ON_LOOP=0` turns it off, to compare the two)."""
    return os.environ.get("CHAEKIEUM_WRITES_ON_LOOP", "1").strip() != "0"


def session_idle_minutes() -> float:
    """Web sessions end after this many minutes without a request (default 30)."""
    value = os.environ.get("CHAEKIEUM_SESSION_IDLE_MINUTES", "").strip()
    return float(value) if value else 30.0


def production() -> bool:
    """`CHAEKIEUM_ENV=production`: settings meant for development and tests are refused
    (the test identity provider)."""
    return os.environ.get("CHAEKIEUM_ENV", "").strip().lower() == "production"


def identity_providers() -> tuple[str, ...]:
    """Identity verification (본인인증) providers for online registration, comma-separated
    (`CHAEKIEUM_IDENTITY_PROVIDERS`). Default: the test provider, except in production
    (none: online registration is closed until a real provider is configured)."""
    value = os.environ.get("CHAEKIEUM_IDENTITY_PROVIDERS")
    if value is None:
        return () if production() else ("test",)
    return tuple(n.strip() for n in value.split(",") if n.strip())
