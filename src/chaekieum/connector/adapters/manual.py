"""``manual``: the library has no library system to link; its staff use the hub's desk
(or the connector's local API from the desk's browser). Nothing goes up from a library
system and no events are handed down, so the adapter declares no capability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from chaekieum.connector.adapters.base import Adapter, Capability, ConfigError


class ManualAdapter(Adapter):
    name: ClassVar[str] = "manual"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        if self.options:
            raise ConfigError(
                [f"manual: unknown option {key!r} (this adapter takes none)" for key in sorted(self.options)]
            )
