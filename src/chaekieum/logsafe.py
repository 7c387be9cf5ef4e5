"""Keep personal data out of logs: every log record is masked as it is made.

What is masked, in the message and in every string argument (access-log lines included):
- the path segment after /members/ (a member number, a card UID or anything else a
  client put there), also URL-encoded inside a `next=` parameter;
- the values of query parameters that carry personal data (q=, name=, phone=, ...);
- 14-digit runs that are member numbers, i.e. whose check digit is right, anywhere.
Member numbers keep the display standard (first 8, ****, last 2); other values become
***. Other numbers (loan ids, 등록번호, timestamps, counts) are left alone.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import IO

from .domain.numbering import is_valid_member_number, mask_member_number

HIDDEN = "***"
PERSONAL_PARAMS = ("q", "name", "phone", "email", "card_uid", "uid", "member", "patron",
                   "number", "birth_year", "guardian_name", "guardian_phone")
_PARAMS = "|".join(PERSONAL_PARAMS)

_MEMBER_NUMBER = re.compile(r"(?<!\d)\d{14}(?!\d)")
_MEMBER_SEGMENT = re.compile(r"(/members/)([^/?#\s\"'&]+)", re.IGNORECASE)
_MEMBER_SEGMENT_ENCODED = re.compile(r"(%2Fmembers%2F)((?:(?!%2F|%3F|%23|%26)[^/?#\s\"'&])+)",
                                     re.IGNORECASE)
_PARAM = re.compile(rf"([?&](?:{_PARAMS})=)([^&#\s\"']+)", re.IGNORECASE)
_PARAM_ENCODED = re.compile(rf"((?:%3F|%26)(?:{_PARAMS})%3D)((?:(?!%26|%23)[^&#\s\"'])+)",
                            re.IGNORECASE)


# a %-format placeholder in a log message ("GET /members/%s"): its argument is masked
# on its own, and the placeholder must stay or the record cannot be formatted
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifxXeEgGc]")


def _hide(value: str) -> str:
    if _PLACEHOLDER.fullmatch(value) or "***" in value:  # a placeholder, or masked already
        return value
    return mask_member_number(value) if is_valid_member_number(value) else HIDDEN


def _number(match: re.Match[str]) -> str:
    value = match.group()
    return mask_member_number(value) if is_valid_member_number(value) else value


def mask_text(text: str) -> str:
    if "members" in text.lower():
        text = _MEMBER_SEGMENT.sub(lambda m: m.group(1) + _hide(m.group(2)), text)
        text = _MEMBER_SEGMENT_ENCODED.sub(lambda m: m.group(1) + _hide(m.group(2)), text)
    if "=" in text or "%3d" in text.lower():
        text = _PARAM.sub(lambda m: m.group(1) + _hide(m.group(2)), text)
        text = _PARAM_ENCODED.sub(lambda m: m.group(1) + _hide(m.group(2)), text)
    return _MEMBER_NUMBER.sub(_number, text)


def _mask_arg(value: object) -> object:
    return mask_text(value) if isinstance(value, str) else value


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):  # logger.info("%(x)s", {"x": ...})
            record.args = {k: _mask_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_mask_arg(a) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        return True


def install() -> None:
    """Mask every log record as it is made. A filter on a logger sees only the records
    logged on that very logger, not those of its children (`chaekieum.services.x`) nor
    of libraries, so masking is done once, in the record factory. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_personal_data", False):
        return
    mask = MaskPersonalData()

    def factory(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
        record = previous(*args, **kwargs)
        mask.filter(record)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(fmt: str | None = None, *, level: int = logging.INFO,
              stream: IO[str] | None = None) -> None:
    """Root logging of a hub process: text lines, or one JSON object per line
    (`fmt="json"`, default from CHAEKIEUM_LOG_FORMAT) for a log shipper. Personal data
    is masked either way (the record factory, `install`)."""
    install()
    fmt = (fmt or os.environ.get("CHAEKIEUM_LOG_FORMAT") or "text").lower()
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            TEXT_FORMAT, rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
