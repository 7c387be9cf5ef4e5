"""Finding members and copies from what was scanned, with row locks for writers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from ..domain.errors import Code, DomainError
from ..domain.members import LibraryStatus
from ..domain.numbering import (
    InstitutionBarcode,
    MemberNumber,
    RegistrationNumber,
    UnifiedBarcode,
    normalize_registration_number,
    parse_scan,
    validate_library_code,
)
from ..store.tables import copies, members, memberships

# What circulation decides on about a member: the hot path reads these columns only
# (the whole row carries contact data, consents and the portal password hash).
CIRCULATION_MEMBER_COLUMNS = (
    members.c.id, members.c.number, members.c.issuing_library, members.c.status,
    members.c.member_class, members.c.card_lost, members.c.card_uid,
    members.c.suspended_until, members.c.sandbox_of,
)


# Built once: statement construction and cache keys cost more CPU than the queries.
def _member_queries(*columns):  # noqa: ANN002, ANN202
    by_number = select(*columns).where(members.c.number == bindparam("ref"))
    by_card = select(*columns).where(members.c.card_uid == bindparam("ref"))
    return {(False, False): by_number, (True, False): by_number.with_for_update(),
            (False, True): by_card, (True, True): by_card.with_for_update()}


_MEMBER = {False: _member_queries(members), True: _member_queries(*CIRCULATION_MEMBER_COLUMNS)}
_COPY = select(copies).where(copies.c.library_code == bindparam("owner"),
                             copies.c.reg_no == bindparam("reg_no"))
_COPY_LOCKED = _COPY.with_for_update()


def find_member(conn: Connection, ref: str, *, lock: bool = False,
                brief: bool = False) -> Row | None:
    """A member by 14-digit number or by a linked card RFID UID (`brief`: only the
    CIRCULATION_MEMBER_COLUMNS)."""
    by_card, value = member_key(ref)
    return conn.execute(_MEMBER[brief][lock, by_card], {"ref": value}).first()


def member_key(ref: str) -> tuple[bool, str]:
    """(by card UID?, the value to look up) of a scanned member reference: a 14-digit
    member number (check digit validated) or a linked card's RFID UID."""
    ref = (ref or "").strip()
    if not ref:
        raise DomainError(Code.INVALID_MEMBER_NUMBER, value="")
    if len(ref) == 14 and ref.isdigit():
        parsed = parse_scan(ref)  # validates the check digit
        assert isinstance(parsed, MemberNumber)
        return False, parsed.value
    if len(ref) > 64:
        raise DomainError(Code.INVALID_MEMBER_NUMBER, value=ref[:40])
    return True, ref


def require_member(conn: Connection, ref: str, *, lock: bool = False,
                   brief: bool = False) -> Row:
    row = find_member(conn, ref, lock=lock, brief=brief)
    if row is None:
        raise DomainError(Code.MEMBER_UNKNOWN, member=ref[:40])
    return row


def barred_count(member_id, library_code):  # noqa: ANN001, ANN201 - values or columns
    """1 when the library barred the member (its own status of the member), else 0."""
    return select(func.count()).select_from(memberships).where(
        memberships.c.member_id == member_id, memberships.c.library_code == library_code,
        memberships.c.status == LibraryStatus.BARRED)


def barred_at(conn: Connection, member_id: int, library_code: str) -> bool:
    return conn.scalar(barred_count(member_id, library_code)) > 0


def item_key(item: str, acting_library: str, owner_hint: str | None = None) -> tuple[str, str]:
    """(owner library, 등록번호) of a scanned item.

    A plain 등록번호 belongs to the acting library unless a 기관바코드 scan selected
    another owner (`owner_hint`).
    """
    scanned = parse_scan(item)
    if isinstance(scanned, UnifiedBarcode):
        return scanned.library_code, scanned.registration_number
    if isinstance(scanned, RegistrationNumber):
        owner = validate_library_code(owner_hint) if owner_hint else acting_library
        return owner, scanned.value
    if isinstance(scanned, InstitutionBarcode):
        raise DomainError(Code.INVALID_BARCODE, value=item[:40],
                          problem="기관바코드 selects an owner; scan the 등록번호 next")
    raise DomainError(Code.INVALID_BARCODE, value=item[:40], problem="not an item barcode")


def find_copy(conn: Connection, owner: str, reg_no: str, *, lock: bool = False) -> Row | None:
    return conn.execute(_COPY_LOCKED if lock else _COPY,
                        {"owner": owner, "reg_no": reg_no}).first()


def check_sandbox(member, copy) -> None:  # noqa: ANN001
    """Sandbox (conformance-kit) members and copies are lent only to each other, so a
    test run can never hold a real copy or put a loan on a real member's record."""
    if member is not None and copy is not None and copy.sandbox_of != member.sandbox_of:
        raise DomainError(Code.SANDBOX_MIXED, member_sandbox=member.sandbox_of,
                          copy_sandbox=copy.sandbox_of)


def upsert_own_copy(
    conn: Connection, owner: str, reg_no: str, info: dict[str, Any] | None, at
) -> Row | None:  # noqa: ANN001
    """Record (or refresh) a copy the owning library tells us about with a transaction."""
    existing = find_copy(conn, owner, reg_no, lock=True)
    if info is None:
        return existing
    values = {k: info[k] for k in ("title", "loanable") if info.get(k) is not None}
    if existing is None:
        conn.execute(
            insert(copies).values(library_code=owner, reg_no=reg_no, updated_at=at,
                                  title=values.get("title", ""),
                                  loanable=values.get("loanable", True))
        )
        return find_copy(conn, owner, reg_no, lock=True)
    if any(existing._mapping[k] != v for k, v in values.items()):
        conn.execute(update(copies).where(copies.c.id == existing.id).values(updated_at=at, **values))
        return find_copy(conn, owner, reg_no, lock=True)
    return existing


def clean_reg_no(value: str) -> str:
    reg = normalize_registration_number(value)
    if reg is None:
        raise DomainError(Code.INVALID_BARCODE, value=value[:40], expected="등록번호")
    return reg
