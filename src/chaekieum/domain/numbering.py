"""The 책이음 numbering standard: member numbers, 통합바코드, 기관바코드, 등록번호.

See docs/domain.md section 3. Everything a scanner can produce is parsed into one typed
identifier here, so the desk, the kiosk and the API recognise scans identically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Code, DomainError

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5, 6)
MAX_SERIAL = 99_999

_LIBRARY_CODE = re.compile(r"\d{6}", re.ASCII)
_MEMBER_NUMBER = re.compile(r"\d{14}", re.ASCII)
# 등록구분 (2-3 letters) then digits; 12 characters in all once zero-padded.
_REG_NO = re.compile(r"([A-Z]{2,3})(\d{1,10})", re.ASCII)


def check_digit(first13: str) -> int:
    if len(first13) != 13 or not first13.isdigit():
        raise ValueError("check digit needs exactly 13 digits")
    x = sum(int(d) * w for d, w in zip(first13, WEIGHTS, strict=True)) % 11
    return 0 if x == 0 else 10 - x  # x = 10 gives 0 too


def member_number_prefix(library_code: str, year: int) -> str:
    """도서관부호(6) + 발급연도 끝 두 자리(2): the scope of one serial counter."""
    return f"{library_code}{year % 100:02d}"


def make_member_number(library_code: str, year: int, serial: int) -> str:
    """도서관부호(6) + 발급연도 끝 두 자리(2) + 일련번호(5) + 검증숫자(1)."""
    validate_library_code(library_code)
    if not 1 <= serial <= MAX_SERIAL:
        raise DomainError(Code.MEMBER_NUMBERS_EXHAUSTED, library_code=library_code)
    body = f"{member_number_prefix(library_code, year)}{serial:05d}"
    return body + str(check_digit(body))


def is_valid_member_number(value: str) -> bool:
    return bool(_MEMBER_NUMBER.fullmatch(value)) and check_digit(value[:13]) == int(value[13])


def validate_member_number(value: str) -> str:
    value = value.strip()
    if not is_valid_member_number(value):
        raise DomainError(Code.INVALID_MEMBER_NUMBER, value=value[:40])
    return value


def validate_library_code(value: str) -> str:
    if not isinstance(value, str) or not _LIBRARY_CODE.fullmatch(value):
        raise DomainError(Code.INVALID_LIBRARY_CODE, value=str(value)[:40])
    return value


def mask_member_number(number: str) -> str:
    """First 8 digits, ****, last 2 (the display standard)."""
    if len(number) != 14:
        return "*" * len(number)
    return f"{number[:8]}****{number[12:]}"


def normalize_registration_number(value: str) -> str | None:
    """Return the canonical 12-character 등록번호, or None if it is not one."""
    m = _REG_NO.fullmatch(value.strip().upper())
    if not m:
        return None
    prefix, digits = m.groups()
    width = 12 - len(prefix)
    if len(digits) > width:
        return None
    return prefix + digits.zfill(width)


@dataclass(frozen=True)
class MemberNumber:
    value: str

    @property
    def issuing_library(self) -> str:
        return self.value[:6]


@dataclass(frozen=True)
class UnifiedBarcode:
    """통합바코드: owner library + 등록번호. `text` is the canonical `$` form."""

    library_code: str
    registration_number: str

    @property
    def text(self) -> str:
        return f"${self.library_code}{self.registration_number}"


@dataclass(frozen=True)
class InstitutionBarcode:
    """기관바코드: selects the owner library for the plain 등록번호 scans that follow."""

    library_code: str

    @property
    def text(self) -> str:
        return f"#{self.library_code}"


@dataclass(frozen=True)
class RegistrationNumber:
    value: str


Identifier = MemberNumber | UnifiedBarcode | InstitutionBarcode | RegistrationNumber


def parse_scan(raw: str) -> Identifier:
    """Classify anything a barcode scanner, RFID pad or keyboard produced."""
    if not isinstance(raw, str):
        raise DomainError(Code.INVALID_BARCODE, value=repr(raw)[:40])
    text = raw.strip()
    if text.startswith("#"):
        code = text[1:]
        if _LIBRARY_CODE.fullmatch(code):
            return InstitutionBarcode(code)
        raise DomainError(Code.INVALID_BARCODE, value=text[:40], expected="#+6 digits")
    if text.startswith("$"):
        return _unified(text[1:], text)
    if _MEMBER_NUMBER.fullmatch(text):
        if is_valid_member_number(text):
            return MemberNumber(text)
        raise DomainError(Code.INVALID_MEMBER_NUMBER, value=text)
    if len(text) == 18 and text[:6].isdigit():
        return _unified(text, text)
    reg = normalize_registration_number(text)
    if reg:
        return RegistrationNumber(reg)
    raise DomainError(Code.INVALID_BARCODE, value=text[:40])


def _unified(body: str, original: str) -> UnifiedBarcode:
    code, rest = body[:6], body[6:]
    reg = normalize_registration_number(rest) if len(rest) == 12 else None
    if not _LIBRARY_CODE.fullmatch(code) or reg is None:
        raise DomainError(Code.INVALID_BARCODE, value=original[:40], expected="$+6 digits+12")
    return UnifiedBarcode(code, reg)
