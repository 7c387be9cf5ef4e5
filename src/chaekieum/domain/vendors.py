"""Vendors (사업자): the companies that build a library's integration with the hub.

A vendor is known by its 사업자등록번호 (business registration number): ten digits
`AAA-BB-CCCCD`, the last a check digit over the first nine (the National Tax Service's
public rule): weights 1 3 7 1 3 7 1 3 5, plus the tens digit of the ninth digit times 5;
the check digit brings the sum to a multiple of ten.
"""

from __future__ import annotations

from .errors import Code, DomainError

WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def check_digit(first9: str) -> int:
    digits = [int(c) for c in first9]
    total = sum(d * w for d, w in zip(digits, WEIGHTS, strict=True)) + digits[8] * 5 // 10
    return (10 - total % 10) % 10


def brn(raw: str) -> str:
    """The number as ten digits (hyphens and spaces dropped), or VENDOR_BRN_INVALID."""
    digits = "".join(raw.split()).replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit() \
            or check_digit(digits[:9]) != int(digits[9]):
        raise DomainError(Code.VENDOR_BRN_INVALID, brn=raw[:20])
    return digits


def formatted(number: str) -> str:
    """123-45-67890, as it is printed on a 사업자등록증."""
    return f"{number[:3]}-{number[3:5]}-{number[5:]}"
