"""Bulk data a library brings when it joins: the rules, free of files and storage.

A bad record or row in an import is never a refusal of the whole import: it is a
*problem* with a stable code and a Korean message, written to the validation report,
and the record is skipped. The services stream the files; this module decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from .numbering import normalize_registration_number


class Problem(StrEnum):
    # holdings (MARC / CSV)
    BROKEN_RECORD = "BROKEN_RECORD"  # leader, directory or record length unreadable
    BAD_ENCODING = "BAD_ENCODING"  # neither UTF-8 nor EUC-KR/CP949
    NO_REG_NO = "NO_REG_NO"  # no 049 ▾l in the record
    INVALID_REG_NO = "INVALID_REG_NO"
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
    DUPLICATE_IN_HUB = "DUPLICATE_IN_HUB"  # the 등록번호 belongs to another record at the hub
    NO_TITLE = "NO_TITLE"
    UNREADABLE_REST = "UNREADABLE_REST"  # the file cannot be read past this point
    # members (CSV)
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_BIRTH_YEAR = "INVALID_BIRTH_YEAR"
    GUARDIAN_REQUIRED = "GUARDIAN_REQUIRED"
    RRN_IN_INPUT = "RRN_IN_INPUT"
    DUPLICATE_IDENTITY = "DUPLICATE_IDENTITY"  # CI hash already at the hub or in the file
    DUPLICATE_LOCAL_NUMBER = "DUPLICATE_LOCAL_NUMBER"
    INVALID_CLASS = "INVALID_CLASS"
    NUMBERS_EXHAUSTED = "NUMBERS_EXHAUSTED"  # 99,999 members a year under one library


MESSAGES: dict[Problem, tuple[str, str]] = {
    Problem.BROKEN_RECORD: ("레코드 구조(리더/디렉터리)가 손상되었습니다.",
                            "Broken record structure (leader or directory)."),
    Problem.BAD_ENCODING: ("문자 인코딩을 읽을 수 없습니다 (UTF-8, EUC-KR/CP949 아님).",
                           "Unreadable character set (not UTF-8 or EUC-KR/CP949)."),
    Problem.NO_REG_NO: ("등록번호(049 ▾l)가 없습니다.", "No registration number (049 $l)."),
    Problem.INVALID_REG_NO: ("등록번호 형식이 올바르지 않습니다.", "Invalid registration number."),
    Problem.DUPLICATE_IN_FILE: ("파일 안에서 중복된 등록번호입니다.",
                                "Registration number repeated within the file."),
    Problem.DUPLICATE_IN_HUB: ("허브에 다른 서지로 이미 등록된 등록번호입니다.",
                               "Registration number already at the hub for another record."),
    Problem.NO_TITLE: ("서명(245 ▾a)이 없습니다.", "No title (245 $a)."),
    Problem.UNREADABLE_REST: ("파일의 나머지 부분을 읽을 수 없습니다.",
                              "The rest of the file cannot be read."),
    Problem.MISSING_FIELD: ("필수 항목이 비어 있습니다.", "A required column is empty."),
    Problem.INVALID_BIRTH_YEAR: ("출생연도가 올바르지 않습니다.", "Invalid birth year."),
    Problem.GUARDIAN_REQUIRED: ("만 14세 미만은 법정대리인 정보가 필요합니다.",
                                "A legal guardian is required under 14."),
    Problem.RRN_IN_INPUT: ("주민등록번호가 들어 있어 거부합니다 (저장하지 않음).",
                           "Refused: contains a resident registration number (not stored)."),
    Problem.DUPLICATE_IDENTITY: ("이미 등록된 본인확인(CI) 정보입니다.",
                                 "Identity (CI) already registered."),
    Problem.DUPLICATE_LOCAL_NUMBER: ("파일 안에서 중복된 기존 회원번호입니다.",
                                     "Local member number repeated within the file."),
    Problem.INVALID_CLASS: ("회원 구분이 올바르지 않습니다.", "Invalid member class."),
    Problem.NUMBERS_EXHAUSTED: ("올해 이 도서관의 회원번호를 모두 썼습니다.",
                                "This year's member numbers of the library are used up."),
}


def message(problem: Problem, lang: str = "ko") -> str:
    ko, en = MESSAGES[problem]
    return ko if lang == "ko" else en


@dataclass(frozen=True)
class ShelfMarks:
    """별치기호 -> loanable. Reference (참고) and periodicals (정기간행물) are not lent;
    a library configures its own marks. Marks compare case-insensitively."""

    not_loanable: frozenset[str] = field(default_factory=lambda: frozenset(
        {"R", "REF", "참", "참고", "P", "PER", "정", "정기"}))

    @classmethod
    def parse(cls, marks: str) -> ShelfMarks:
        """`"R,P,참고"` -> those marks are not loanable."""
        return cls(frozenset(m.strip().upper() for m in marks.split(",") if m.strip()))

    def loanable(self, shelf_mark: str) -> bool:
        return shelf_mark.strip().upper() not in self.not_loanable


@dataclass
class Copy:
    reg_no: str
    shelf_mark: str = ""
    volume: str = ""
    copy_mark: str = ""


@dataclass
class Holding:
    """One bibliographic record with the copies the library holds of it."""

    bib_id: str
    title: str
    author: str
    call_number: str
    copies: list[Copy]


@dataclass
class RecordProblem:
    problem: Problem
    key: str = ""  # the offending 등록번호 / local number, when there is one
    detail: str = ""


def check_reg_no(raw: str) -> str | None:
    """The canonical 12-character 등록번호, or None."""
    return normalize_registration_number(raw) if raw and len(raw) <= 14 else None


# 주민등록번호: YYMMDD-GNNNNNN (G = 1..8); with or without the hyphen, spaced or not
_RRN = re.compile(r"(?<!\d)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\s*-?\s*[1-8]\d{6}(?!\d)")


def contains_rrn(text: str) -> bool:
    return bool(_RRN.search(text))


def strip_marc_punctuation(text: str) -> str:
    return text.strip().rstrip(" /:;,=.").strip()


# -- member conversion ---------------------------------------------------------------
MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    # field -> column names tried in order (a library's export names them many ways)
    "local_number": ("local_number", "기존회원번호", "회원번호", "이용자번호", "대출자번호"),
    "name": ("name", "이름", "성명"),
    "birth_year": ("birth_year", "출생연도", "생년"),
    "birth_date": ("birth_date", "생년월일"),  # only its year is kept
    "phone": ("phone", "전화번호", "휴대폰", "연락처"),
    "email": ("email", "이메일", "전자우편"),
    "ci": ("ci", "CI", "연계정보"),
    "guardian_name": ("guardian_name", "보호자", "법정대리인"),
    "guardian_phone": ("guardian_phone", "보호자연락처", "법정대리인연락처"),
    "member_class": ("member_class", "회원구분", "회원등급"),
}
RRN_COLUMNS = ("주민등록번호", "주민번호", "rrn", "resident_registration_number", "jumin")
CLASS_NAMES = {"": "정회원", "정회원": "정회원", "full": "정회원", "준회원": "준회원",
               "associate": "준회원", "비회원": "비회원", "non_member": "비회원",
               "non-member": "비회원"}
_DATE = re.compile(r"(\d{4})[-./]?\d{1,2}[-./]?\d{1,2}", re.ASCII)
_YEAR = re.compile(r"\d{4}", re.ASCII)


@dataclass(frozen=True)
class MemberRow:
    local_number: str
    name: str
    birth_year: int
    member_class: str
    phone: str | None = None
    email: str | None = None
    ci: str | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None


def column_mapping(header: list[str], overrides: dict[str, str] | None = None
                   ) -> dict[str, str]:
    """field -> the header column that holds it (explicit overrides first)."""
    out = {}
    present = set(header)
    for name, candidates in MEMBER_FIELDS.items():
        if overrides and name in overrides:
            out[name] = overrides[name]
            continue
        for c in candidates:
            if c in present:
                out[name] = c
                break
    return out


def member_row(row: dict[str, str], mapping: dict[str, str], this_year: int
               ) -> MemberRow | RecordProblem:
    """Validate one row of a member export. A resident registration number anywhere in
    the row refuses the row (and is never echoed: the report names the column only)."""
    local = row.get(mapping.get("local_number", ""), "").strip()[:40]
    for column, value in row.items():
        if value and (contains_rrn(value) or column.strip().lower() in RRN_COLUMNS):
            return RecordProblem(Problem.RRN_IN_INPUT, key=local, detail=f"column {column}")

    def get(name: str) -> str:
        return row.get(mapping.get(name, ""), "").strip()

    if not local:
        return RecordProblem(Problem.MISSING_FIELD, detail="local_number")
    name = get("name")
    if not name:
        return RecordProblem(Problem.MISSING_FIELD, key=local, detail="name")
    raw = get("birth_year") or get("birth_date")
    year_match = _YEAR.fullmatch(raw) or _DATE.fullmatch(raw)
    if not year_match:
        return RecordProblem(Problem.INVALID_BIRTH_YEAR, key=local)
    birth_year = int(year_match.group(0)[:4])
    if birth_year > this_year or birth_year < this_year - 130:
        return RecordProblem(Problem.INVALID_BIRTH_YEAR, key=local, detail=str(birth_year))
    klass = CLASS_NAMES.get(get("member_class").lower())
    if klass is None:
        return RecordProblem(Problem.INVALID_CLASS, key=local, detail=get("member_class")[:40])
    return MemberRow(local, name[:100], birth_year, klass, get("phone")[:30] or None,
                     get("email")[:200] or None, get("ci") or None,
                     get("guardian_name")[:100] or None, get("guardian_phone")[:30] or None)
