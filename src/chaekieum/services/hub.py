"""The hub: every use case, wired to one database and one clock. Adapters get a Hub."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ..domain.onboarding import Rules as OnboardingRules
from ..store.db import Database
from ..store.migrate import upgrade
from . import reach
from .audit_log import AuditLog
from .circulation import Circulation
from .connector_package import ConnectorPackages
from .context import Actor, Clock
from .copies import Copies
from .credentials import Credentials
from .events import ChangeFeed
from .idempotency import IdempotencyStore
from .identity import IdentityVerification
from .identity_test_provider import TestProvider
from .imports import Imports
from .member_import import MemberImports
from .members import Members
from .network import Network
from .notices import Notices
from .oidc import OpenIDProvider
from .onboarding import Onboarding
from .onboarding_docs import OnboardingDocuments, documents_dir, max_bytes_from_env
from .onboarding_public import Joining
from .printing import Printing
from .registry import Registry
from .reservations import Reservations
from .sandbox import Sandbox
from .sessions import DEFAULT_IDLE, WebSessions
from .snapshot import ConnectorSnapshot
from .transits import Transits
from .vendors import Vendors


class Hub:
    def __init__(self, database_url: str, *, secret: bytes, clock: Clock | None = None,
                 pool_size: int = 10, session_idle: timedelta = DEFAULT_IDLE,
                 read_database_url: str | None = None,
                 onboarding_rules: OnboardingRules | None = None,
                 identity_providers: tuple[str, ...] = ("test",), production: bool = False,
                 documents: Path | None = None, document_max_bytes: int | None = None):
        """`identity_providers`: 본인인증 adapters for online registration, by name (the
        only one shipped is "test", refused with `production`). `documents`,
        `document_max_bytes`: where onboarding documents are kept and their size limit
        (default: services/onboarding_docs.py)."""
        self.db = Database(database_url, pool_size=pool_size, read_url=read_database_url)
        self.clock = clock or Clock()
        self.secret = secret
        self.registry = Registry(self.db)
        self.members = Members(self.db, self.registry, self.clock, secret)
        self.circulation = Circulation(self.db, self.registry, self.clock)
        self.network = Network(self.db, self.registry, self.clock)
        self.credentials = Credentials(self.db, self.clock)
        self.onboarding = Onboarding(self.db, self.registry, self.clock, onboarding_rules,
                                     self.credentials)
        self.documents = OnboardingDocuments(
            self.db, self.clock, documents or documents_dir(database_url),
            document_max_bytes or max_bytes_from_env())
        self.vendors = Vendors(self.db, self.clock)
        self.joining = Joining(self.db, self.clock)
        self.transits = Transits(self.db, self.registry, self.clock)
        self.sandbox = Sandbox(self.db, self.registry, self.clock, self.members,
                               self.circulation, self.transits)
        self.reservations = Reservations(self.db, self.registry, self.clock)
        self.copies = Copies(self.db, self.clock, self.registry)
        self.feed = ChangeFeed(self.db)
        self.snapshot = ConnectorSnapshot(self.db, self.registry, self.clock)
        self.idempotency = IdempotencyStore(self.db, self.clock)
        self.audit = AuditLog(self.db)
        self.imports = Imports(self.db, self.registry, self.clock)
        self.member_imports = MemberImports(self.imports, self.members)
        self.printing = Printing(self.db)
        self.notices = Notices(self.db, self.clock)
        self.identity = IdentityVerification(
            [self._identity_provider(name) for name in identity_providers], secret,
            self.clock, production=production)
        self.connector_packages = ConnectorPackages(self.db, self.clock, self.credentials)
        # web sessions age in wall-clock time, not in the business clock (which tests and
        # the demo move by days to reach due dates)
        self.sessions = WebSessions(self.db, Clock(), idle=session_idle)
        # homepages and apps signing members in (OpenID Connect); tokens age in wall time
        self.oidc = OpenIDProvider(self.db, Clock(), secret)

    def _identity_provider(self, name: str):  # noqa: ANN202
        adapters = {"test": TestProvider}
        if name not in adapters:
            raise ValueError(f"unknown identity provider {name!r} (known: {sorted(adapters)})")
        return adapters[name](self.secret)

    def sandbox_only(self, actor: Actor) -> bool:
        """Whether the actor's credentials reach only its library's sandbox data
        (domain/sandbox.py: before pilot, or sandbox-only credentials)."""
        return reach.of(self.registry, actor) is reach.Reach.SANDBOX

    def migrate(self) -> None:
        upgrade(self.db.url)

    def close(self) -> None:
        self.db.dispose()
