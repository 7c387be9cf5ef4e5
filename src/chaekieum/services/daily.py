"""Daily circulation counters, bumped inside each loan/return transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, Integer, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ..store.tables import daily_circulation as dc


def _upsert(dialect):  # noqa: ANN001, ANN202
    # a bump of nothing (a sandbox loan: never statistics) writes no row at all
    counts = [bindparam(n, type_=Integer) for n in ("loans", "returns", "elsewhere")]
    stmt = dialect.insert(dc).from_select(
        ["library_code", "day", "loans", "returns", "loans_elsewhere"],
        select(bindparam("lib", type_=dc.c.library_code.type),
               bindparam("day", type_=Date), *counts)
        .where(or_(*(c != 0 for c in counts))))
    return stmt.on_conflict_do_update(
        index_elements=["day", "library_code"],
        set_={"loans": dc.c.loans + stmt.excluded.loans,
              "returns": dc.c.returns + stmt.excluded.returns,
              "loans_elsewhere": dc.c.loans_elsewhere + stmt.excluded.loans_elsewhere},
    )


# by dialect; parameters lib, day, loans, returns, elsewhere (ledger.py uses it as a CTE)
UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


@dataclass(frozen=True)
class Counter:
    """A bump of one library's daily circulation counters."""

    library_code: str
    day: date
    loans: int = 0
    returns: int = 0
    elsewhere: int = 0

    def params(self) -> dict[str, Any]:
        """The parameters of UPSERT."""
        return {"lib": self.library_code, "day": self.day, "loans": self.loans,
                "returns": self.returns, "elsewhere": self.elsewhere}


def bump(conn: Connection, library_code: str, day: date, *, loans: int = 0, returns: int = 0,
         elsewhere: int = 0) -> None:
    conn.execute(UPSERT[conn.dialect.name],
                 Counter(library_code, day, loans, returns, elsewhere).params())


def rebuild(conn: Connection) -> None:
    """Recompute every counter from the loan ledger (repairs, bulk-loaded data). The
    same SQL backfills migration 0003, which keeps its own copy: migrations are frozen.
    A withdrawn member's loans (anonymous, no member) count as loans and returns; whether
    they were lent outside the member's issuing library is not known any more. Sandbox
    rows stay out (a sandbox copy is lent only to sandbox members, so an anonymous
    sandbox loan is known by its copy)."""
    return_day = ("date(returned_at, '+9 hours')" if conn.dialect.name == "sqlite"
                  else "CAST(returned_at + interval '9 hours' AS date)")
    conn.exec_driver_sql("DELETE FROM daily_circulation")
    conn.exec_driver_sql(f"""
        INSERT INTO daily_circulation (library_code, day, loans, returns, loans_elsewhere)
        SELECT library_code, day, SUM(l), SUM(r), SUM(e) FROM (
            SELECT loans.library_code AS library_code, loaned_on AS day, 1 AS l, 0 AS r,
                   CASE WHEN members.issuing_library <> loans.library_code THEN 1 ELSE 0 END
                   AS e
            FROM loans LEFT JOIN members ON members.id = loans.member_id
            JOIN copies ON copies.id = loans.copy_id
            WHERE loans.state <> 'undone' AND members.sandbox_of IS NULL
              AND copies.sandbox_of IS NULL
            UNION ALL
            SELECT return_library, {return_day}, 0, 1, 0
            FROM loans LEFT JOIN members ON members.id = loans.member_id
            JOIN copies ON copies.id = loans.copy_id
            WHERE state = 'returned' AND return_library IS NOT NULL
              AND members.sandbox_of IS NULL AND copies.sandbox_of IS NULL
        ) AS t GROUP BY library_code, day
    """)
