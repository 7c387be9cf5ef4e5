"""MARC test files written by pymarc: KORMARC-style records (Korean text, 049 ▾l holdings)
in ISO 2709 and MARCXML, UTF-8 or EUC-KR, with broken records where a test wants them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pymarc
from pymarc import Field, Indicators, RawField, Record, Subfield


@dataclass
class Bib:
    bib_id: str
    title: str
    author: str = ""
    call: tuple[str, str] = ("", "")  # 090 ▾a, ▾b
    copies: list[tuple[str, str]] = field(default_factory=list)  # (등록번호, 별치기호)


def _fields(b: Bib) -> list[tuple[str, list[tuple[str, str]] | str]]:
    out: list[tuple[str, list[tuple[str, str]] | str]] = [("001", b.bib_id)]
    if b.call[0]:
        out.append(("090", [("a", b.call[0]), ("b", b.call[1])]))
    if b.author:
        out.append(("100", [("a", b.author)]))
    out.append(("245", [("a", b.title + " /"), ("d", b.author)]))
    if b.copies:
        subs: list[tuple[str, str]] = []
        for reg, mark in b.copies:
            subs.append(("l", reg))
            if mark:
                subs.append(("f", mark))
        out.append(("049", subs))
    return out


def record(b: Bib, encoding: str = "utf-8") -> Record:
    """A pymarc Record; UTF-8 records say so in leader/09, EUC-KR ones (the older Korean
    systems') leave it blank and carry raw EUC-KR bytes."""
    if encoding == "utf-8":
        r = Record(leader="00000nam a2200000 k 4500")
        for tag, value in _fields(b):
            if isinstance(value, str):
                r.add_field(Field(tag=tag, data=value))
            else:
                r.add_field(Field(tag=tag, indicators=Indicators(" ", " "),
                                  subfields=[Subfield(c, v) for c, v in value]))
        return r
    r = Record(to_unicode=False, leader="00000nam  2200000 k 4500")
    for tag, value in _fields(b):
        if isinstance(value, str):
            r.add_field(RawField(tag=tag, data=value.encode(encoding)))
        else:
            r.add_field(RawField(tag=tag, indicators=Indicators(" ", " "), subfields=[
                Subfield(c, v.encode(encoding)) for c, v in value]))
    return r


def broken_directory(b: Bib, encoding: str = "utf-8") -> bytes:
    """A record whose directory is cut short by a byte (record length still right)."""
    raw = record(b, encoding).as_marc()
    base = int(raw[12:17])
    return raw[:base - 2] + b"X" + raw[base - 1:]  # a non-digit inside the last entry


def broken_leader(b: Bib, encoding: str = "utf-8") -> bytes:
    raw = record(b, encoding).as_marc()
    return b"00x" + raw[3:]


def iso2709(items: list[Bib | bytes], encoding: str = "utf-8") -> bytes:
    return b"".join(i if isinstance(i, bytes) else record(i, encoding).as_marc()
                    for i in items)


def marcxml(items: list[Bib | str], encoding: str = "utf-8") -> bytes:
    """A MARCXML collection; a str item is inserted as-is (a hand-broken record)."""
    parts = [f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
             '<collection xmlns="http://www.loc.gov/MARC21/slim">']
    for i in items:
        if isinstance(i, str):
            parts.append(i)
        else:
            parts.append(pymarc.record_to_xml(record(i), namespace=False).decode())
    parts.append("</collection>\n")
    return "\n".join(parts).encode(encoding)


BAD_LEADER_XML = ('<record><leader>short</leader><controlfield tag="001">X9</controlfield>'
                  '<datafield tag="245" ind1=" " ind2=" "><subfield code="a">잘못된 리더'
                  '</subfield></datafield><datafield tag="049" ind1=" " ind2=" ">'
                  '<subfield code="l">KM0000009999</subfield></datafield></record>')
