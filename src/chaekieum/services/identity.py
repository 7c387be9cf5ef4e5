"""Identity verification (본인인증): an interface with one adapter per provider.

A provider (PASS, NICE, KCB, ...) checks who a person is on its own pages and hands back
a result carrying the person's CI (연계정보), name and birth date. The hub never keeps the
CI: `finish` turns it at once into the keyed hash the member registry keeps
(`members.ci_hash`, the desk's duplicate check), and only that hash travels further.

Every verification is bound to a `state` the hub signs when it starts one (the provider,
what it is for, when it started): a provider's answer is accepted only with a state the
hub made, for that provider and purpose, within `STATE_TTL`.

Adapters implement `Provider`. Real providers cannot be reached from here, so the one
adapter shipped is the test provider (`identity_test_provider.TestProvider`), which is
refused when the hub runs with the production setting (`CHAEKIEUM_ENV=production`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Protocol

from ..domain.errors import Code, DomainError
from ..domain.members import hash_ci
from .context import Clock

STATE_TTL = timedelta(minutes=20)
PURPOSES = ("self", "guardian")  # the applicant, or the guardian of an applicant under 14


@dataclass(frozen=True)
class Verified:
    """What a provider vouches for. `ci` never leaves `IdentityVerification.finish`."""

    ci: str
    name: str
    birth_year: int
    phone: str | None = None


@dataclass(frozen=True)
class Proof:
    """A finished verification as the hub keeps it for the next step: the CI only as its
    keyed hash."""

    provider: str
    purpose: str
    ci_hash: str
    name: str
    birth_year: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Proof:
        return cls(str(data["provider"]), str(data["purpose"]), str(data["ci_hash"]),
                   str(data["name"]), int(data["birth_year"]))


class Provider(Protocol):
    name: str  # stable id: "test", "pass", "nice", ...
    label: str  # what people see (Korean)
    test_only: bool  # refused in production

    def start_url(self, state: str, return_url: str) -> str:
        """Where to send the person (the provider's page), carrying `state`."""

    def finish(self, state: str, answer: Mapping[str, str]) -> Verified:
        """Check the provider's answer (its signature or encryption, that it is for
        `state`): the person's identity, or DomainError IDENTITY_VERIFICATION_FAILED."""


class ProductionRefusesTestProvider(ValueError):
    pass


class IdentityVerification:
    def __init__(self, providers: Sequence[Provider], secret: bytes, clock: Clock,
                 production: bool = False):
        test = [p.name for p in providers if p.test_only]
        if production and test:
            raise ProductionRefusesTestProvider(
                f"identity provider(s) {', '.join(test)} are for development and tests only "
                "and are refused in production (CHAEKIEUM_ENV=production)")
        self.by_name = {p.name: p for p in providers}
        self.key = hmac.new(secret, b"chaekieum.identity.state.v1", hashlib.sha256).digest()
        self.pepper = secret  # the member registry's CI-hash key
        self.clock = clock

    def providers(self) -> list[dict[str, Any]]:
        return [{"name": p.name, "label": p.label, "test_only": p.test_only}
                for p in self.by_name.values()]

    def provider(self, name: str) -> Provider:
        found = self.by_name.get(name)
        if found is None:
            raise DomainError(Code.IDENTITY_PROVIDER_UNKNOWN, provider=name[:20])
        return found

    # -- state -----------------------------------------------------------------------
    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, payload, hashlib.sha256)
                                        .digest()[:18]).decode()

    def _state(self, provider: str, purpose: str) -> str:
        body = json.dumps([provider, purpose, int(self.clock.now().timestamp()),
                           secrets.token_urlsafe(9)], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + self._sign(body)

    def _read_state(self, state: str) -> tuple[str, str]:
        try:
            encoded, sig = state.split(".", 1)
            body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if not hmac.compare_digest(sig, self._sign(body)):
                raise ValueError("signature")
            provider, purpose, issued, _ = json.loads(body)
            age = self.clock.now().timestamp() - int(issued)
        except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
            raise DomainError(Code.IDENTITY_VERIFICATION_FAILED) from None
        if not 0 <= age <= STATE_TTL.total_seconds() or purpose not in PURPOSES:
            raise DomainError(Code.IDENTITY_VERIFICATION_FAILED, problem="expired")
        return str(provider), str(purpose)

    # -- the two steps -----------------------------------------------------------------
    def start(self, provider: str, purpose: str, return_url: str) -> dict[str, str]:
        if purpose not in PURPOSES:
            raise DomainError(Code.VALIDATION_ERROR, field="purpose")
        adapter = self.provider(provider)
        state = self._state(adapter.name, purpose)
        return {"provider": adapter.name, "purpose": purpose, "state": state,
                "url": adapter.start_url(state, return_url)}

    def finish(self, state: str, answer: Mapping[str, str]) -> Proof:
        """The provider's answer for `state`, checked: the proof the next step needs."""
        name, purpose = self._read_state(state)
        verified = self.provider(name).finish(state, answer)
        return Proof(name, purpose, hash_ci(verified.ci, self.pepper), verified.name.strip(),
                     verified.birth_year)
