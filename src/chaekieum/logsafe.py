"""Keep personal data out of logs: member numbers in any log line are masked.

Access logs carry URLs such as /api/v1/members/<number>; the filter rewrites every
14-digit run to the display standard (first 8, ****, last 2) before it is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

_MEMBER_NUMBER = re.compile(r"(?<!\d)(\d{8})\d{4}(\d{2})(?!\d)")


def mask_text(text: str) -> str:
    return _MEMBER_NUMBER.sub(r"\1****\2", text)


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
