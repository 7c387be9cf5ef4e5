"""Console uploads run as background jobs (huey): a real worker process (`chaekieum jobs
worker`) on SQLite (SqliteHuey) and PostgreSQL (SqlHuey); progress on the batch page;
an interrupted batch resumed from the console."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from chaekieum.domain.actors import Actor, Role
from chaekieum.jobs import Jobs
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services import imports as imports_module
from chaekieum.store.tables import copies, import_batches
from tests import marcdata, pdfcodes
from tests.conftest import SECRET
from tests.marcdata import Bib

LIB = "111001"
BOOKS = [Bib(f"J{i}", f"작업 {i}", "저자", copies=[(f"JB{i:010d}", "")]) for i in range(1, 8)]
FILE = marcdata.iso2709(BOOKS[:3] + [Bib("J99", "번호 없음")] + BOOKS[3:], "euc-kr")


@contextmanager
def worker(url: str, tmp_path) -> Iterator[subprocess.Popen]:  # noqa: ANN001
    env = {**os.environ, "CHAEKIEUM_SECRET_KEY": SECRET.decode(),
           "CHAEKIEUM_HOME": str(tmp_path / "var")}
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "chaekieum.cli", "jobs", "worker",
                             "--database-url", url], env=env, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def wait_done(hub, batch_id: int, tmp_path, proc, timeout: float = 120  # noqa: ANN001
              ) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        state = hub.imports.batch(batch_id)
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.3)
    raise AssertionError((tmp_path / "worker.log").read_text()[-3000:])


def regs(hub) -> set[str]:  # noqa: ANN001
    with hub.db.read() as conn:
        return set(conn.scalars(select(copies.c.reg_no).where(copies.c.reg_no.like("JB%"))))


def test_worker_runs_a_queued_import_on_sqlite_and_postgres(any_hub, tmp_path,
                                                            monkeypatch) -> None:
    monkeypatch.setenv("CHAEKIEUM_HOME", str(tmp_path / "var"))
    jobs = Jobs(any_hub)
    path = tmp_path / "upload.mrc"
    path.write_bytes(FILE)
    actor = Actor(Role.LIBRARIAN, "staff:lib-111001", "console", LIB)
    batch_id = jobs.submit(actor, "holdings", path, "소장자료.mrc", {"format": "iso2709"})
    assert any_hub.imports.batch(batch_id)["status"] == "queued"  # nothing runs it yet
    with worker(str(any_hub.db.url), tmp_path) as proc:
        state = wait_done(any_hub, batch_id, tmp_path, proc)
    assert (state["status"], state["created"], state["skipped"]) == ("done", 7, 1)
    assert regs(any_hub) == {f"JB{i:010d}" for i in range(1, 8)}
    assert [p["code"] for p in any_hub.imports.problems(batch_id)] == ["NO_REG_NO"]


def login(client: TestClient, username: str) -> str:
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "csrf": token,
                                    "password": demo.staff_password(username)})
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"',
                     client.get("/console/imports").text).group(1)


def test_console_upload_progress_report_labels_and_resume(hub, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("CHAEKIEUM_HOME", str(tmp_path / "var"))
    client = TestClient(create_app(hub), follow_redirects=False)
    csrf = login(client, "lib-111001")
    r = client.post("/console/imports", data={"csrf": csrf, "kind": "holdings"},
                    files={"file": ("소장자료.mrc", FILE, "application/marc")})
    assert r.status_code == 303, r.text
    page_url = r.headers["location"]
    batch_id = int(page_url.rsplit("/", 1)[1])
    page = client.get(page_url)
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text  # polls itself
    assert client.get(page_url + "?format=json").json()["status"] == "queued"
    with worker(str(hub.db.url), tmp_path) as proc:
        wait_done(hub, batch_id, tmp_path, proc)
    progress = client.get(page_url + "?format=json").json()
    assert (progress["status"], progress["percent"], progress["created"]) == ("done", 100, 7)
    page = client.get(page_url).text
    assert "등록번호(049 ▾l)가 없습니다." in page and 'http-equiv="refresh"' not in page
    report = client.get(page_url + "/report.csv")
    assert report.status_code == 200 and "NO_REG_NO" in report.text
    labels = client.get(page_url + "/print.pdf")
    assert pdfcodes.decode_all(labels.content) == [f"${LIB}JB{i:010d}" for i in range(1, 8)]
    assert "소장자료.mrc" in client.get("/console/imports").text
    # another library's librarian sees nothing of it
    other = TestClient(create_app(hub), follow_redirects=False)
    login(other, "lib-111002")
    assert other.get(page_url).status_code == 403

    # an import interrupted after its first chunk is resumed from the console
    monkeypatch.setattr(imports_module, "CHUNK", 2)
    path = tmp_path / "again.mrc"
    path.write_bytes(marcdata.iso2709([Bib(f"K{i}", f"다시 {i}", copies=[(
        f"JB{100 + i:010d}", "")]) for i in range(6)]))
    actor = Actor(Role.LIBRARIAN, "staff:lib-111001", "console", LIB)

    def stop(summary) -> None:  # noqa: ANN001
        raise KeyboardInterrupt
    batch2, _ = hub.imports.open_batch(actor, "holdings", path, "iso2709", {
        "encoding": "auto", "not_loanable": [], "path": str(path)})
    with pytest.raises(KeyboardInterrupt):
        hub.imports.holdings(actor, path, batch_id=batch2, progress=stop)
    page = client.get(f"/console/imports/{batch2}").text
    assert "이어서 가져오기" in page and "중단됨" in page
    r = client.post(f"/console/imports/{batch2}/resume", data={"csrf": csrf})
    assert r.status_code == 303
    with worker(str(hub.db.url), tmp_path) as proc:
        state = wait_done(hub, batch2, tmp_path, proc)
    assert (state["status"], state["position"], state["created"]) == ("done", 6, 6)
    with hub.db.read() as conn:
        assert conn.scalar(select(import_batches.c.status).where(
            import_batches.c.id == batch2)) == "done"
    # a running batch whose worker died (no checkpoint for long) can be resumed too
    with hub.db.write() as conn:
        conn.execute(update(import_batches).where(import_batches.c.id == batch2).values(
            status="running", heartbeat_at=None))
    assert hub.imports.batch(batch2)["stale"]


def test_only_librarians_open_the_import_pages(hub) -> None:  # noqa: ANN001
    client = TestClient(create_app(hub), follow_redirects=False)
    login_admin = client.get("/login")
    assert login_admin.status_code == 200
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', login_admin.text).group(1)
    client.post("/login", data={"username": "admin", "csrf": token,
                                "password": demo.staff_password("admin")})
    assert client.get("/console/imports").status_code == 403
