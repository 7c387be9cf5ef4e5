"""The connector package of a registered library (services/connector_package.py), through
the SDK over a real socket: unpacked, its config loaded by the connector's own loader,
its guide's Korean text read back out of the PDF, its credentials working (sandbox
only), and who may ask for it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from chaekieum.client import HubClient, HubError, RetryPolicy
from chaekieum.connector import config as connector_config
from chaekieum.services.context import SYSTEM

from .apiclient import library_key

BUILDING = "141099"  # 경기 새내기작은도서관, at `building` in the demo network
FAST = RetryPolicy(attempts=1)
ROOT = Path(__file__).resolve().parents[2]


def unpack(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert all(n.startswith(f"chaekieum-connector-{BUILDING}/") for n in names)
        z.extractall(into)
    return into / f"chaekieum-connector-{BUILDING}"


def pdf_text(path: Path) -> str:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_the_package_of_a_library_still_building(live_server, tmp_path) -> None:  # noqa: ANN001
    hub = live_server.hub
    admin_key = hub.credentials.create_api_key(SYSTEM, "national", "", "package")["api_key"]
    with HubClient(live_server.url, admin_key, retry=FAST) as admin:
        data = admin.connector_package(BUILDING, adapter="webhook", issue_credentials=True,
                                       hub_url="https://hub.chaekieum.example.kr",
                                       sip2_host="sip2.chaekieum.example.kr")
    folder = unpack(data, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "connector.toml", "chaekieum-connector.service", "INSTALL.md",
        f"구축연계_안내서_{BUILDING}.pdf"])

    # the connector's own loader reads the config; it names this library and this hub
    cfg = connector_config.load(folder / "connector.toml", build_adapters=False)
    assert cfg.library == BUILDING and cfg.hub_url == "https://hub.chaekieum.example.kr"
    assert cfg.sip2_port == 6001 and list(cfg.tokens) == ["desk-1"]
    raw = (folder / "connector.toml").read_text(encoding="utf-8")
    assert 'type = "webhook"' in raw and "[adapters.options]" in raw

    # its key is a sandbox-only key of this library: the sandbox works, real data not
    with HubClient(live_server.url, cfg.api_key, retry=FAST) as lib:
        made = lib.create_sandbox(members=1, copies=1)
        assert lib.checkout(made["members"][0]["number"], made["copies"][0]["item"])
        with pytest.raises(HubError) as refused:
            lib.checkout(made["members"][0]["number"], f"${BUILDING}EM0000000001")
        assert refused.value.code == "SANDBOX_ONLY"
        lib.clean_sandbox()
    keys = {k["key_id"]: k for k in hub.credentials.list_api_keys(SYSTEM, "library", BUILDING)}
    assert keys[cfg.api_key.split("_")[1]]["environment"] == "sandbox"
    kiosks = {t["login"]: t for t in hub.credentials.list_terminals(SYSTEM, BUILDING)}
    sandbox_kiosks = [t for t in kiosks.values() if t["environment"] == "sandbox"]
    assert len(sandbox_kiosks) == 1

    # the systemd unit is deploy/'s, for this library
    unit = (folder / "chaekieum-connector.service").read_text(encoding="utf-8")
    deployed = (ROOT / "deploy" / "chaekieum-connector.service").read_text(encoding="utf-8")
    assert unit == deployed.replace("Description=Chaekieum library connector (책이음 미들웨어)",
                                    "Description=Chaekieum library connector (책이음 미들웨어) "
                                    f"for {BUILDING}", 1) != deployed
    install = (folder / "INSTALL.md").read_text(encoding="utf-8")
    assert "systemctl enable --now chaekieum-connector" in install
    assert sandbox_kiosks[0]["login"] in install

    # the 구축연계 안내서: Korean text, the steps, endpoints, SIP2 settings and the kit
    text = pdf_text(folder / f"구축연계_안내서_{BUILDING}.pdf")
    for expected in ("책이음 구축연계 안내서", "경기 새내기작은도서관", f"도서관부호 {BUILDING}",
                     "구축 절차", "REST 엔드포인트", "POST /api/v1/circulation/checkout",
                     "SIP2", "기관 ID (AO)", "sip2.chaekieum.example.kr:6001",
                     sandbox_kiosks[0]["login"], "적합성 검사",
                     "chaekieum conformance run", "SANDBOX_ONLY"):
        assert expected in text.replace("\r", ""), expected

    # audited, without the secrets
    rows = hub.audit.search(SYSTEM, action="onboarding.connector_package")
    assert len(rows) == 1 and rows[0]["details"]["credentials_issued"] is True
    assert cfg.api_key not in str(rows)


def test_placeholders_for_the_library_itself_and_who_may_ask(live_server, tmp_path) -> None:  # noqa: ANN001
    with HubClient(live_server.url, library_key(BUILDING), retry=FAST) as own:
        data = own.connector_package(BUILDING)
        with pytest.raises(HubError) as err:  # issuing credentials is for its admins
            own.connector_package(BUILDING, issue_credentials=True)
        assert err.value.code == "FORBIDDEN"
    folder = unpack(data, tmp_path)
    with pytest.raises(connector_config.ConfigProblems) as problems:
        connector_config.load(folder / "connector.toml", build_adapters=False)
    assert any(p.startswith("api_key:") for p in problems.value.problems)  # not yet filled
    raw = (folder / "connector.toml").read_text(encoding="utf-8")
    assert f'library = "{BUILDING}"' in raw and "시험용 API 키" in raw
    text = pdf_text(folder / f"구축연계_안내서_{BUILDING}.pdf")
    assert "등록 시 발급된 시험용" in text
    # another library may not ask for it; a library not yet registered has none
    with HubClient(live_server.url, library_key("111001"), retry=FAST) as other:
        with pytest.raises(HubError) as err:
            other.connector_package(BUILDING)
        assert err.value.code == "FORBIDDEN"
    hub = live_server.hub
    hub.network.register_library(SYSTEM, "141098", "경기 준비도서관", "gyeonggi", 6, [0],
                                 status="application")
    admin_key = hub.credentials.create_api_key(SYSTEM, "national", "", "package")["api_key"]
    with HubClient(live_server.url, admin_key, retry=FAST) as admin:
        with pytest.raises(HubError) as err:
            admin.connector_package("141098")
        assert err.value.code == "ONBOARDING_NOT_REGISTERED" and err.value.status == 409
