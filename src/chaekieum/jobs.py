"""Background jobs (huey): imports uploaded in the console run in a job worker process,
and so do the notices (docs/notices.md): a periodic task queues the member notices
(every 15 minutes) and one delivers the outbox (every minute).

Why huey: a well-kept, small task queue whose storage fits both of the hub's databases
without another server: SqliteHuey (a SQLite file beside the hub's, so jobs never queue
behind the hub's write lock) on the embedded default, and SqlHuey (peewee, psycopg 3,
`FOR UPDATE SKIP LOCKED`) in its own schema `chaekieum_jobs` of the hub's PostgreSQL
database in production. (procrastinate is PostgreSQL-only; RQ, Celery and dramatiq want
Redis or RabbitMQ.) The worker is huey's own consumer: `chaekieum jobs worker`, which
`chaekieum serve` starts beside the web server unless told not to.

Progress lives in the import batch (records, bytes, counts), written with each chunk's
checkpoint, so the console shows it while the job runs, and a job that stopped (worker
killed, server restarted) resumes from its last checkpoint when it is queued again.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from huey import Huey, SqliteHuey, crontab
from huey.contrib.sql_huey import SqlHuey

from .config import var_dir
from .domain.actors import Actor, Role
from .domain.imports import ShelfMarks
from .notify import Settings, close, senders
from .services.hub import Hub
from .store.db import sqlite_path

log = logging.getLogger("chaekieum.jobs")
PG_SCHEMA = "chaekieum_jobs"


def make_huey(database_url: str) -> Huey:
    path = sqlite_path(database_url)
    if path is not None:
        return SqliteHuey("chaekieum", filename=str(path.with_name(path.name + ".jobs")),
                          results=False)
    if database_url.startswith("sqlite"):  # in-memory hub (tests): nothing to share
        return SqliteHuey("chaekieum", filename=str(var_dir() / "jobs.sqlite"),
                          results=False)
    from peewee import PostgresqlDatabase
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    params = {"host": url.host or "127.0.0.1", "port": url.port or 5432,
              "user": url.username, "password": url.password}
    db = PostgresqlDatabase(url.database, prefer_psycopg3=True,
                            options=f"-c search_path={PG_SCHEMA}",
                            **{k: v for k, v in params.items() if v is not None})
    db.connect()
    db.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
    db.close()
    return SqlHuey("chaekieum", database=db, results=False)


def uploads_dir(database_url: str) -> Path:
    path = sqlite_path(database_url)
    folder = (path.parent if path is not None else var_dir()) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Jobs:
    """Queue imports (web process) and run them (worker process): the same class in
    both, so huey's task names match."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.huey = make_huey(hub.db.url)
        self._task = self.huey.task(name="chaekieum.import", retries=0)(self._run)
        self.huey.periodic_task(crontab(minute="*/15"), name="chaekieum.notices.schedule")(
            self.schedule_notices)
        self.huey.periodic_task(crontab(minute="*"), name="chaekieum.notices.deliver")(
            self.deliver_notices)

    # -- web side --------------------------------------------------------------------
    def save_upload(self, chunks: Any, suffix: str) -> Path:
        """Store an uploaded file under the imports folder (streamed)."""
        path = uploads_dir(self.hub.db.url) / f"{uuid.uuid4().hex}{suffix[:10]}"
        with path.open("wb") as out:
            for block in chunks:
                out.write(block)
        return path

    def submit(self, actor: Actor, kind: str, path: Path, filename: str,
               options: dict[str, Any]) -> int:
        """Open (or find the unfinished) batch for the file and queue it."""
        if kind == "holdings":
            fmt = options.get("format") or "iso2709"
            defaults = {"not_loanable": sorted(ShelfMarks().not_loanable)}
        else:
            fmt = "csv"
            defaults = {"mapping": {}}
        options = {"encoding": "auto", **defaults, **options, "path": str(path)}
        batch_id, _ = self.hub.imports.open_batch(actor, kind, path, fmt, options, filename)
        self._task(batch_id)
        return batch_id

    def resume(self, batch_id: int, library_code: str) -> None:
        """Queue a stopped batch again (interrupted, failed, or running without a
        checkpoint for a while: its worker died): it goes on from its last checkpoint."""
        state = self.hub.imports.batch(batch_id, library_code)
        if state["status"] in ("interrupted", "failed") or state["stale"]:
            self.hub.imports.mark(batch_id, "queued")
            self._task(batch_id)

    # -- worker side -----------------------------------------------------------------
    def _run(self, batch_id: int) -> None:
        state = self.hub.imports.batch(batch_id)
        if state["status"] == "done":
            return
        options = state["options"]
        actor = Actor(Role.LIBRARIAN, state["actor"], "web", state["library_code"])
        path = Path(options["path"])
        log.info("import %s (%s) starts at record %s", batch_id, state["kind"],
                 state["position"])
        if state["kind"] == "holdings":
            self.hub.imports.holdings(
                actor, path, fmt=state["format"], encoding=options["encoding"],
                shelf_marks=ShelfMarks(frozenset(options["not_loanable"])),
                batch_id=batch_id, filename=state["filename"])
        else:
            self.hub.member_imports.run(actor, path, mapping=options.get("mapping") or {},
                                        encoding=options["encoding"], batch_id=batch_id,
                                        filename=state["filename"])
        log.info("import %s done", batch_id)

    def schedule_notices(self) -> dict[str, int]:
        """Queue the member notices due now (unique keys: running twice queues once)."""
        return self.hub.notices.schedule()

    def deliver_notices(self) -> dict[str, int]:
        """Send the outbox with the senders configured in the environment
        (CHAEKIEUM_SMTP_URL, CHAEKIEUM_MAIL_FROM, CHAEKIEUM_SMS_URL, CHAEKIEUM_KAKAO_URL)."""
        configured = senders(Settings.from_env())
        try:
            return self.hub.notices.deliver(configured)
        finally:
            close(configured)

    def worker(self, workers: int = 1) -> None:
        """Run huey's consumer in this process until a signal stops it (with the periodic
        notice tasks)."""
        self.huey.create_consumer(workers=workers, worker_type="thread",
                                  periodic=True).run()
