"""Onboarding documents over the REST API on SQLite and PostgreSQL (issue 11): every
accepted type by content, the refusals (type, extension, size), storage under
server-made names with the content hash, who may see a library's documents, the audit
trail, idempotent upload and removal."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chaekieum.server import create_app
from chaekieum.services.context import SYSTEM
from chaekieum.services.onboarding_docs import STORED

from .. import docfiles
from .apiclient import LibraryClient
from .test_onboarding import key_client

LIB = "141099"  # 경기 새내기작은도서관, joining (gyeonggi)
DOCS = f"/api/v1/libraries/{LIB}/onboarding/documents"


def upload(c: LibraryClient, name: str, content: bytes, path: str = DOCS, **form: str):  # noqa: ANN201
    return c.client.post(path, headers=c.headers, data=form,
                         files={"file": (name, content, "application/octet-stream")})


def stored_files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def refused(r, code: str, status: int) -> None:  # noqa: ANN001
    assert r.status_code == status and r.json()["code"] == code, r.text


GOOD = [
    ("참여신청서.pdf", docfiles.pdf, "pdf", "application/pdf", "application_form"),
    ("수요조사서.hwp", docfiles.hwp, "hwp", "application/x-hwp", "survey"),
    ("공문 제2026-14호.hwpx", docfiles.hwpx, "hwpx", "application/hwp+zip", "letter"),
    ("세부일정.xlsx", docfiles.xlsx, "xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "schedule"),
    ("장비 사진.png", lambda: docfiles.image("PNG"), "png", "image/png", "other"),
    ("현판.JPG", lambda: docfiles.image("JPEG"), "jpeg", "image/jpeg", "other"),
]


def test_each_accepted_type_is_stored_by_hash_under_a_server_name(libs, any_hub) -> None:  # noqa: ANN001
    lib = libs[LIB]
    directory = any_hub.documents.directory
    sent = {}
    for name, make, file_type, media, kind in GOOD:
        content = make()
        r = upload(lib, name, content, kind=kind)
        assert r.status_code == 201, (name, r.text)
        doc = r.json()
        assert (doc["file_type"], doc["media_type"], doc["kind"], doc["filename"]) == (
            file_type, media, kind, name)
        assert doc["sha256"] == hashlib.sha256(content).hexdigest()
        assert doc["size"] == len(content) and doc["actor"] == f"key:demo{LIB}"
        sent[doc["id"]] = (content, doc)
    listed = lib.get(f"/libraries/{LIB}/onboarding/documents").json()
    assert [d["id"] for d in listed["documents"]] == sorted(sent, reverse=True)
    assert listed["max_bytes"] == 20 * 1024 * 1024
    assert {d["kind"]: d["item"] for d in listed["documents"]} == {
        "application_form": "application.form", "survey": "application.survey",
        "letter": "application.letter", "schedule": "application.schedule", "other": None}
    # on disk: only server-made names, none of the uploaded names; the content as sent
    files = stored_files(directory)
    assert len(files) == len(GOOD) and all(STORED.fullmatch(f) for f in files), files
    assert sorted(hashlib.sha256((directory / f).read_bytes()).hexdigest() for f in files) == \
        sorted(doc["sha256"] for _, doc in sent.values())
    for doc_id, (content, doc) in sent.items():
        r = lib.client.get(f"{DOCS}/{doc_id}", headers=lib.headers)
        assert r.status_code == 200 and r.content == content
        assert r.headers["content-type"].startswith(doc["media_type"])
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["repr-digest"] == "sha-256=:" + base64.b64encode(
            hashlib.sha256(content).digest()).decode() + ":"
        assert r.headers["x-content-type-options"] == "nosniff"
    audit = any_hub.audit.search(SYSTEM, action="onboarding.document", library_code=LIB)
    assert len(audit) == len(GOOD) and {a["details"]["sha256"] for a in audit} == {
        doc["sha256"] for _, doc in sent.values()}


BAD = [
    ("a Word file named .hwp", "신청서.hwp", docfiles.word_doc),
    ("a Word package named .xlsx", "일정.xlsx", docfiles.docx),
    ("a plain zip named .hwpx", "공문.hwpx", docfiles.plain_zip),
    ("an executable named .pdf", "신청서.pdf", lambda: b"MZ\x90\x00" + b"\0" * 600),
    ("HTML named .pdf", "신청서.pdf", lambda: b"<html><script>alert(1)</script></html>"),
    ("a truncated PDF", "신청서.pdf", lambda: docfiles.pdf()[:-200]),
    ("a truncated PNG", "사진.png", lambda: docfiles.image("PNG")[:40]),
    ("an empty file", "빈파일.pdf", lambda: b""),
    ("a PDF named .png", "사진.png", docfiles.pdf),
    ("a PNG without an extension", "사진", lambda: docfiles.image("PNG")),
    ("an XLSX named .hwpx", "공문.hwpx", docfiles.xlsx),
]


@pytest.mark.parametrize(("why", "name", "make"), BAD, ids=[b[0] for b in BAD])
def test_a_file_that_is_not_what_it_claims_is_refused_and_not_kept(
        libs, any_hub, why, name, make) -> None:  # noqa: ANN001
    r = upload(libs[LIB], name, make())
    refused(r, "ONBOARDING_DOCUMENT_TYPE", 422)
    assert r.json()["details"]["allowed"] == ["hwp", "hwpx", "jpeg", "pdf", "png", "xlsx"]
    assert stored_files(any_hub.documents.directory) == []
    assert libs[LIB].get(f"/libraries/{LIB}/onboarding/documents").json()["documents"] == []


def test_size_limit_is_enforced_while_reading(any_hub, libs) -> None:  # noqa: ANN001
    any_hub.documents.max_bytes = 40_000  # the app below caps bodies at this + 64 KiB
    with TestClient(create_app(any_hub, with_web=False)) as client:
        lib = LibraryClient(client, LIB)
        padded = docfiles.pdf() + b"%" + b"x" * 50_000 + b"\n%%EOF\n"
        refused(upload(lib, "큰파일.pdf", padded), "ONBOARDING_DOCUMENT_TOO_LARGE", 413)
        refused(upload(lib, "더큰파일.pdf", padded * 4), "PAYLOAD_TOO_LARGE", 413)
        assert stored_files(any_hub.documents.directory) == []
        assert upload(lib, "작은파일.pdf", docfiles.pdf()).status_code == 201


def test_uploaded_names_never_reach_the_file_system(libs, any_hub) -> None:  # noqa: ANN001
    lib = libs[LIB]
    names = {
        "../../../etc/passwd.pdf": "passwd.pdf",
        "..\\..\\windows\\신청서.pdf": "신청서.pdf",
        "/abs/olute.pdf": "olute.pdf",
        "abc\u202egnp.pdf": "abcgnp.pdf",  # a right-to-left override
        "a<b>c:d|f?g*h.pdf": "a_b_c_d_f_g_h.pdf",
        "...hidden.pdf": "hidden.pdf",
        "x" * 300 + ".pdf": "x" * 196 + ".pdf",
    }
    for raw, clean in names.items():
        r = upload(lib, raw, docfiles.pdf())
        assert r.status_code == 201 and r.json()["filename"] == clean, (raw, r.text)
    directory = any_hub.documents.directory
    files = stored_files(directory)
    assert len(files) == len(names) and all(STORED.fullmatch(f) for f in files), files
    assert not (directory.parent / "etc").exists()


def test_only_the_roles_that_see_the_onboarding_see_its_documents(
        client, libs, any_hub) -> None:  # noqa: ANN001
    lib = libs[LIB]
    content = docfiles.pdf()
    doc = upload(lib, "참여신청서.pdf", content, kind="application_form").json()
    one = f"{DOCS}/{doc['id']}"
    # another library's staff: refused for every operation, even knowing the id
    other = libs["141001"]  # same region, another library
    for r in (other.client.get(DOCS, headers=other.headers),
              other.client.get(one, headers=other.headers),
              other.client.delete(one, headers=other.headers),
              upload(other, "x.pdf", docfiles.pdf())):
        refused(r, "FORBIDDEN", 403)
    # its own path does not reach another library's document either
    refused(other.client.get(f"/api/v1/libraries/141001/onboarding/documents/{doc['id']}",
                             headers=other.headers), "NOT_FOUND", 404)
    busan = key_client(client, any_hub, "region", "busan")
    refused(busan.client.get(one, headers=busan.headers), "FORBIDDEN", 403)
    for allowed in (key_client(client, any_hub, "region", "gyeonggi"),
                    key_client(client, any_hub, "national", "")):
        r = allowed.client.get(one, headers=allowed.headers)
        assert r.status_code == 200 and r.content == content
    refused(lib.client.get(f"{DOCS}/999999", headers=lib.headers), "NOT_FOUND", 404)
    refused(lib.client.get("/api/v1/libraries/999999/onboarding/documents",
                           headers=lib.headers), "LIBRARY_UNKNOWN", 404)


def test_kind_item_and_media_type_checks(libs) -> None:  # noqa: ANN001
    lib = libs[LIB]
    refused(upload(lib, "a.pdf", docfiles.pdf(), kind="selfie"), "VALIDATION_ERROR", 422)
    refused(upload(lib, "a.pdf", docfiles.pdf(), item="no.such"), "ONBOARDING_UNKNOWN_ITEM", 404)
    linked = upload(lib, "규정.pdf", docfiles.pdf(), item="rules.member_management",
                    note="개정 회원관리 규정").json()
    assert (linked["kind"], linked["item"], linked["note"]) == (
        "other", "rules.member_management", "개정 회원관리 규정")
    r = lib.client.post(DOCS, headers=lib.headers, json={"file": "x"})
    refused(r, "UNSUPPORTED_MEDIA_TYPE", 415)
    assert r.json()["details"]["expected"] == "multipart/form-data"
    refused(lib.client.post(DOCS, headers=lib.headers, files={"kind": (None, "other")}),
            "VALIDATION_ERROR", 422)  # multipart without a file


def test_idempotent_upload_and_removal_with_audit(libs, any_hub) -> None:  # noqa: ANN001
    lib = libs[LIB]
    key = {"Idempotency-Key": "doc-upload-1"}
    first = lib.client.post(DOCS, headers={**lib.headers, **key}, data={"kind": "survey"},
                            files={"file": ("수요조사서.hwp", docfiles.hwp(), "x/y")})
    again = lib.client.post(DOCS, headers={**lib.headers, **key}, data={"kind": "survey"},
                            files={"file": ("수요조사서.hwp", docfiles.hwp(), "x/y")})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_file = lib.client.post(DOCS, headers={**lib.headers, **key}, data={"kind": "survey"},
                                 files={"file": ("수요조사서.hwpx", docfiles.hwpx(), "x/y")})
    refused(other_file, "IDEMPOTENCY_KEY_REUSED", 422)
    directory = any_hub.documents.directory
    assert len(stored_files(directory)) == 1  # the replay and the refusal kept nothing
    doc_id = first.json()["id"]
    gone = lib.client.delete(f"{DOCS}/{doc_id}", headers=lib.headers)
    assert gone.status_code == 200 and gone.json() == {"code": LIB, "removed": doc_id}
    assert stored_files(directory) == []
    refused(lib.client.get(f"{DOCS}/{doc_id}", headers=lib.headers), "NOT_FOUND", 404)
    refused(lib.client.delete(f"{DOCS}/{doc_id}", headers=lib.headers), "NOT_FOUND", 404)
    removed = any_hub.audit.search(SYSTEM, action="onboarding.document_remove")
    assert [(a["library_code"], a["details"]["document_id"]) for a in removed] == [(LIB, doc_id)]
