"""The demo network `make run` loads on first start, so anyone can try every feature.

Demo secrets are fixed, documented strings (printed by `chaekieum demo info`); they are
stored hashed like any other secret. Never load the demo into a production database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from ..domain.onboarding import Stage
from ..store.tables import api_keys, copies, libraries, members
from .context import SYSTEM, Actor, Role
from .credentials import hash_secret
from .hub import Hub
from .members import Registration

NATIONAL = {"username": "admin", "password": "chaekieum-admin", "name": "국중 운영자"}
LIBRARIES = [
    # code, name, region, center id (see migration 0002), closed weekdays, stage
    ("111001", "서울도서관", "seoul", 1, [0], Stage.LIVE),
    ("111002", "중랑구립정보도서관", "seoul", 2, [0], Stage.LIVE),
    ("111003", "서울 마포중앙도서관", "seoul", 1, [0], Stage.LIVE),
    ("121001", "부산도서관", "busan", 17, [0], Stage.LIVE),
    ("126001", "부산 해운대도서관", "busan", 17, [0], Stage.LIVE),
    ("141001", "경기 수원선경도서관", "gyeonggi", 6, [0], Stage.LIVE),
    ("141002", "경기 용인중앙도서관", "gyeonggi", 6, [4], Stage.PILOT),
    ("141099", "경기 새내기작은도서관", "gyeonggi", 6, [0], Stage.BUILDING),
]
REGIONAL_ADMINS = [("seoul-admin", "seoul"), ("busan-admin", "busan"),
                   ("gyeonggi-admin", "gyeonggi")]
TITLES = [
    "채식주의자", "소년이 온다", "82년생 김지영", "아몬드", "불편한 편의점", "달러구트 꿈 백화점",
    "미움받을 용기", "코스모스", "사피엔스", "총, 균, 쇠", "토지 1", "태백산맥 1",
    "어린 왕자", "해리 포터와 마법사의 돌", "나미야 잡화점의 기적", "작별하지 않는다",
    "파친코 1", "공정하다는 착각", "정의란 무엇인가", "역사의 쓸모", "트렌드 코리아",
    "데미안", "이기적 유전자", "구름빵",
]
COPIES_PER_LIBRARY = 24
MEMBERS = [
    # name, birth year, home library index, portal password, guardian
    ("김하늘", 1990, 0, "member-pass-1", None),
    ("이바다", 1985, 0, "member-pass-2", None),
    ("박솔", 2001, 3, "member-pass-3", None),
    ("최별", 2016, 5, "member-pass-4", "최보호"),
    ("정가람", 1978, 1, "member-pass-5", None),
]


def staff_password(username: str) -> str:
    return NATIONAL["password"] if username == "admin" else f"{username}-pass"


def api_key_secret(library_code: str) -> tuple[str, str]:
    return f"demo{library_code}", f"demo-secret-{library_code}"


def terminal_login(library_code: str) -> tuple[str, str]:
    return f"kiosk-{library_code}", f"kiosk-pass-{library_code}"


def is_loaded(hub: Hub) -> bool:
    with hub.db.read() as conn:
        return bool(conn.scalar(select(func.count()).select_from(libraries)))


def load(hub: Hub) -> None:
    """Create the demo network (idempotent: does nothing if any library exists)."""
    if is_loaded(hub):
        return
    creds = hub.credentials
    creds.create_staff(SYSTEM, NATIONAL["username"], NATIONAL["password"], NATIONAL["name"],
                       Role.NATIONAL_ADMIN)
    creds.create_api_key(SYSTEM, "national", "", label="demo national admin")
    for username, region in REGIONAL_ADMINS:
        creds.create_staff(SYSTEM, username, staff_password(username), f"{region} 지역센터",
                           Role.REGIONAL_ADMIN, region)
    now = hub.clock.now()
    for code, name, region, center, closed, stage in LIBRARIES:
        hub.network.register_library(SYSTEM, code, name, region, center, closed, ils="KOLAS III",
                                     status=stage)
        creds.create_staff(SYSTEM, f"lib-{code}", staff_password(f"lib-{code}"),
                           f"{name} 사서", Role.LIBRARIAN, code)
        key_id, secret = api_key_secret(code)
        _insert_api_key(hub, key_id, secret, code, now)
        login, password = terminal_login(code)
        creds.create_terminal(SYSTEM, code, login, password, label=f"{name} 무인대출반납기")
        with hub.db.write() as conn:
            conn.execute(insert(copies), [
                {"library_code": code, "reg_no": f"EM{n:010d}",
                 "title": TITLES[(n + int(code)) % len(TITLES)],
                 "loanable": n % 12 != 0, "updated_at": now}
                for n in range(1, COPIES_PER_LIBRARY + 1)
            ])
    for name, birth_year, lib_index, password, guardian in MEMBERS:
        library_code = LIBRARIES[lib_index][0]
        hub.members.register(
            Actor(Role.SYSTEM, "system:demo", "cli", library_code),
            Registration(name=name, birth_year=birth_year, phone="010-1234-5678",
                         email=None, ci=f"demo-ci-{name}", guardian_name=guardian,
                         guardian_phone="010-9876-5432" if guardian else None,
                         consents={"privacy": True}, password=password),
        )


def _insert_api_key(hub: Hub, key_id: str, secret: str, code: str, now) -> None:  # noqa: ANN001
    with hub.db.write() as conn:
        conn.execute(insert(api_keys).values(
            key_id=key_id, secret_hash=hash_secret(secret), scope="library",
            scope_code=code, environment="live", label="demo ILS key", created_at=now))


def info(hub: Hub) -> dict[str, Any]:
    """Everything a newcomer needs to try the demo: accounts, keys, copies."""
    with hub.db.read() as conn:
        libs = conn.execute(select(libraries).order_by(libraries.c.code)).all()
        member_rows = conn.execute(select(members).order_by(members.c.id)).all()
        loanable = {
            lib.code: conn.scalars(select(copies.c.reg_no).where(
                copies.c.library_code == lib.code, copies.c.loanable.is_(True))
                .order_by(copies.c.reg_no).limit(8)).all()
            for lib in libs
        }
    demo_passwords = {m[0]: m[3] for m in MEMBERS}
    return {
        "web": "http://127.0.0.1:8000/",
        "api_docs": "http://127.0.0.1:8000/api/docs",
        "sip2": "127.0.0.1:6001",
        "staff": [{"username": NATIONAL["username"], "password": NATIONAL["password"],
                   "role": Role.NATIONAL_ADMIN}]
        + [{"username": u, "password": staff_password(u), "role": Role.REGIONAL_ADMIN,
            "region": r} for u, r in REGIONAL_ADMINS],
        "libraries": [
            {
                "code": lib.code, "name": lib.name, "region": lib.region_code,
                "status": lib.status,
                "librarian": {"username": f"lib-{lib.code}",
                              "password": staff_password(f"lib-{lib.code}")},
                "api_key": "ck_{}_{}".format(*api_key_secret(lib.code)),
                "kiosk": dict(zip(("login", "password"), terminal_login(lib.code), strict=True)),
                "loanable_items": [f"${lib.code}{r}" for r in loanable[lib.code]],
            }
            for lib in libs
        ],
        "members": [
            {"number": m.number, "name": m.name, "password": demo_passwords.get(m.name),
             "home_library": m.issuing_library}
            for m in member_rows if m.name in demo_passwords
        ],
    }



