"""The TEST identity provider (시험용 본인인증): for development and tests ONLY.

It stands in for a real provider so that online registration can be built and tested
where no real provider can be reached. Its "provider page" is a form on the hub itself
(/join/test-provider) where anyone types any name, birth year and phone: it proves
nothing about anybody. `IdentityVerification` refuses it when the hub runs with the
production setting.

The answer it hands back is signed with a key derived from the hub's secret, bound to
the verification's state; its CI is derived from what was typed (the same person typed
twice gets the same CI, which is how tests reach the duplicate check), and starts with
"TEST-" so it can never be mistaken for a real one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import urlencode

from ..domain.errors import Code, DomainError
from .identity import Verified

PAGE = "/join/test-provider"


class TestProvider:
    __test__ = False  # not a pytest test class
    name = "test"
    label = "시험용 본인인증 (개발·시험 전용)"
    test_only = True

    def __init__(self, secret: bytes):
        self.key = hmac.new(secret, b"chaekieum.identity.test-provider.v1",
                            hashlib.sha256).digest()

    def start_url(self, state: str, return_url: str) -> str:
        return f"{PAGE}?{urlencode({'state': state, 'return': return_url})}"

    def _sig(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def answer(self, state: str, name: str, birth_year: int, phone: str) -> dict[str, str]:
        """What the provider's page sends back to the return address (query parameters)."""
        who = f"{name.strip()}|{birth_year}|{''.join(c for c in phone if c.isdigit())}"
        ci = "TEST-" + hmac.new(self.key, who.encode(), hashlib.sha256).hexdigest()
        body = json.dumps({"state": state, "ci": ci, "name": name.strip(),
                           "birth_year": birth_year, "phone": phone},
                          separators=(",", ":"), ensure_ascii=False).encode()
        return {"state": state,
                "result": base64.urlsafe_b64encode(body).decode() + "." + self._sig(body)}

    def finish(self, state: str, answer: Mapping[str, str]) -> Verified:
        try:
            encoded, sig = str(answer.get("result", "")).split(".", 1)
            body = base64.urlsafe_b64decode(encoded.encode())
            if not hmac.compare_digest(sig, self._sig(body)):
                raise ValueError("signature")
            data = json.loads(body)
            if data["state"] != state:
                raise ValueError("state")
            return Verified(str(data["ci"]), str(data["name"]), int(data["birth_year"]),
                            str(data["phone"]) or None)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise DomainError(Code.IDENTITY_VERIFICATION_FAILED) from None
