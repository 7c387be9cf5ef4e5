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
    """Attach the filter to the loggers that may see request data."""
    for name in ("uvicorn.access", "uvicorn.error", "chaekieum", "chaekieum.api",
                 "chaekieum.sip2"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPersonalData) for f in logger.filters):
            logger.addFilter(MaskPersonalData())
