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
