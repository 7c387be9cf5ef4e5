"""Who may do what with a member's data: the one access rule, for every channel.

REST, SIP2, the web console/desk/portal and the library connector all act through the
member services, and those call `check` (or `standing`) before they read or change a
member. The rule is the table `WHO_MAY` below; docs/api.md ("Member data: who may do
what") says the same in prose.

An actor stands in one of four relations to a member:

- JOINED: the actor's library is one the member joined (the issuing library, or one
  joined directly at a desk or by auto-join at a first checkout); a regional admin of a
  region where the member joined a library; a national admin; the system.
- SELF: the member themselves (member portal; a homepage or app acting with the
  member's OpenID Connect access token, /api/v1/me, within the scopes the member
  granted: services/oidc.py).
- PARTICIPANT: any other participating library (API key, librarian, kiosk, or an admin
  acting at a library): enough to find the member for circulation, masked.
- NONE: an admin without a library outside their region; another member; a vendor
  (사업자), always: vendors act only on the onboarding of the libraries that selected
  them (services/onboarding_access.py), never on a member, whatever library they name.

One operation goes further than JOINED: expulsion (제적) belongs to the member's issuing
library. The ISSUER relation is held, besides the actor's standing, by the issuing
library itself (its staff and its library system, not its kiosks), the regional admin of
the issuing library's region (the library's admin, as for its policy and credentials),
a national admin and the system.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..domain.errors import Code, DomainError
from .context import Actor, Role


class Op(StrEnum):
    """Every operation on one member's data the hub offers."""

    LOOKUP = "lookup"  # by number or card UID, for circulation: personal data masked
    READ = "read"  # the record with personal data unmasked
    LOANS = "loans"  # loans with titles: active ones and the history
    SUSPENSIONS = "suspensions"  # suspension history
    UPDATE = "update"  # name, phone, e-mail, birth year, class, guardian, consents
    SET_PASSWORD = "set_password"  # the member-portal password
    JOIN = "join"  # the desk's ID check: join the acting library; an online sign-up
    # (준회원 awaiting the check) becomes a full member
    CARD_LOST = "card_lost"  # report the card lost (blocks it network-wide)
    LIFT_CARD_LOST = "lift_card_lost"  # end a lost-card block
    LINK_CARD = "link_card"  # link an RFID card UID
    WITHDRAW = "withdraw"  # withdrawal: erases personal data
    HIDE_HISTORY = "hide_history"  # hide returned loans from the history
    EXPEL = "expel"  # 제적: refused everywhere (issuing library or national)
    LIFT_EXPULSION = "lift_expulsion"  # end an expulsion
    BAR = "bar"  # the acting library's own status: no loans there
    LIFT_BAR = "lift_bar"  # end the acting library's bar


class Standing(StrEnum):
    JOINED = "joined"
    SELF = "self"
    PARTICIPANT = "participant"
    NONE = "none"
    ISSUER = "issuer"  # held besides JOINED: see the module's docstring


_J, _S, _P, _I = Standing.JOINED, Standing.SELF, Standing.PARTICIPANT, Standing.ISSUER

# THE RULE: operation -> the standings that may perform it. Every change is audited by
# the service that makes it (tests/integration/test_member_access.py checks the rows).
WHO_MAY: dict[Op, frozenset[Standing]] = {
    Op.LOOKUP: frozenset({_J, _S, _P}),
    Op.JOIN: frozenset({_J, _P}),  # joining is how a participant becomes a joined library
    Op.READ: frozenset({_J, _S}),
    Op.LOANS: frozenset({_J, _S}),
    Op.SUSPENSIONS: frozenset({_J, _S}),
    Op.HIDE_HISTORY: frozenset({_J, _S}),
    Op.SET_PASSWORD: frozenset({_J, _S}),
    Op.UPDATE: frozenset({_J}),
    Op.CARD_LOST: frozenset({_J}),
    Op.LIFT_CARD_LOST: frozenset({_J}),
    Op.LINK_CARD: frozenset({_J}),
    Op.WITHDRAW: frozenset({_J}),
    Op.EXPEL: frozenset({_I}),
    Op.LIFT_EXPULSION: frozenset({_I}),
    # the acting library's own status; the service also requires that the member joined
    # that library (the status is part of that registration)
    Op.BAR: frozenset({_J}),
    Op.LIFT_BAR: frozenset({_J}),
}

# Operations no kiosk performs, whatever its standing (staff decisions with a reason).
STAFF_ONLY = frozenset({Op.EXPEL, Op.LIFT_EXPULSION, Op.BAR, Op.LIFT_BAR})

# Roles bound to one library (they act for it everywhere).
LIBRARY_ROLES = frozenset({Role.LIBRARY_SYSTEM, Role.LIBRARIAN, Role.TERMINAL})


@dataclass(frozen=True)
class Subject:
    """What the rule needs to know about a member."""

    number: str
    libraries: frozenset[str]  # codes of the libraries the member joined
    regions: frozenset[str]  # their regions
    issuing: tuple[str, str] = ("", "")  # (library code, region code) that issued the card

    @classmethod
    def of(cls, number: str, joined: Iterable[tuple[str, str]],
           issuing: tuple[str, str] = ("", "")) -> Subject:
        """`joined`: (library code, region code) of each library the member joined;
        `issuing`: those of the issuing library."""
        pairs = list(joined)
        return cls(number, frozenset(c for c, _ in pairs), frozenset(r for _, r in pairs),
                   issuing)


def standing(actor: Actor, subject: Subject) -> Standing:
    if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
        return Standing.JOINED
    if actor.role == Role.VENDOR:
        return Standing.NONE
    if actor.role == Role.MEMBER:
        return Standing.SELF if actor.ident == f"member:{subject.number}" else Standing.NONE
    if actor.role == Role.REGIONAL_ADMIN and actor.region_code in subject.regions:
        return Standing.JOINED
    if actor.library_code and actor.role in (*LIBRARY_ROLES, Role.REGIONAL_ADMIN):
        return (Standing.JOINED if actor.library_code in subject.libraries
                else Standing.PARTICIPANT)
    return Standing.NONE


def is_issuer(actor: Actor, subject: Subject) -> bool:
    library, region = subject.issuing
    if actor.role in (Role.SYSTEM, Role.NATIONAL_ADMIN):
        return True
    if actor.role == Role.REGIONAL_ADMIN:
        return bool(region) and actor.region_code == region
    return actor.role in (Role.LIBRARIAN, Role.LIBRARY_SYSTEM) and bool(library) \
        and actor.library_code == library


def check(actor: Actor, op: Op, subject: Subject) -> Standing:
    """The actor's standing if the rule lets it perform `op`; a refusal otherwise."""
    where = standing(actor, subject)
    if actor.role == Role.VENDOR or (op in STAFF_ONLY
                                     and actor.role in (Role.TERMINAL, Role.MEMBER)):
        raise DomainError(Code.FORBIDDEN, operation=str(op))
    if where in WHO_MAY[op] or (_I in WHO_MAY[op] and is_issuer(actor, subject)):
        return where
    if _I in WHO_MAY[op]:
        if actor.role == Role.REGIONAL_ADMIN:
            raise DomainError(Code.MEMBER_OUT_OF_REGION, operation=str(op),
                              region_code=actor.region_code)
        raise DomainError(Code.MEMBER_NOT_ISSUED_HERE, operation=str(op),
                          issuing_library=subject.issuing[0])
    if where == Standing.PARTICIPANT:
        raise DomainError(Code.MEMBER_NOT_JOINED_HERE, operation=str(op),
                          library_code=actor.library_code)
    if actor.role == Role.REGIONAL_ADMIN:
        raise DomainError(Code.MEMBER_OUT_OF_REGION, operation=str(op),
                          region_code=actor.region_code)
    raise DomainError(Code.FORBIDDEN, operation=str(op))


def personal_data_visible(where: Standing) -> bool:
    """Whether a view for this standing shows personal data unmasked (= may READ)."""
    return where in WHO_MAY[Op.READ]
