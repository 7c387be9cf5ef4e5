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
