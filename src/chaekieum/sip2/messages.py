"""Declarative SIP2 2.00 message tables (3M "SIP2 Developers Guide").

Adding a message means adding one row to ``_REQUEST_ROWS`` or ``_RESPONSE_ROWS``;
the codec derives everything else (fixed-part slicing, validation, names) from them.
A row is ``(code, name, "field:length ...", "known variable field ids")``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageSpec:
    code: str
    name: str
    fixed: tuple[tuple[str, int], ...]  # fixed-part fields in wire order
    fields: frozenset[str]  # variable field ids the guide defines for this message

    @property
    def fixed_length(self) -> int:
        return sum(length for _, length in self.fixed)

    @property
    def fixed_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fixed)


def _table(rows: list[tuple[str, str, str, str]]) -> dict[str, MessageSpec]:
    table = {}
    for code, name, fixed, fields in rows:
        parts = tuple((f.split(":")[0], int(f.split(":")[1])) for f in fixed.split())
        table[code] = MessageSpec(code, name, parts, frozenset(fields.split()))
    return table


_DATE = "transaction_date:18"

# Requests, SC (kiosk) -> ACS (us).
_REQUEST_ROWS = [
    ("93", "login", "uid_algorithm:1 pwd_algorithm:1", "CN CO CP"),
    ("99", "sc_status", "status_code:1 max_print_width:3 protocol_version:4", ""),
    ("23", "patron_status", f"language:3 {_DATE}", "AO AA AC AD"),
    ("63", "patron_information", f"language:3 {_DATE} summary:10", "AO AA AC AD BP BQ"),
    ("11", "checkout", f"sc_renewal_policy:1 no_block:1 {_DATE} nb_due_date:18",
     "AO AA AB AC CH AD BO BI"),
    ("09", "checkin", f"no_block:1 {_DATE} return_date:18", "AP AO AB AC CH BI"),
    ("29", "renew", f"third_party_allowed:1 no_block:1 {_DATE} nb_due_date:18",
     "AO AA AD AB AJ AC CH BO"),
    ("65", "renew_all", _DATE, "AO AA AD AC BO"),
    ("17", "item_information", _DATE, "AO AB AC"),
    ("35", "end_patron_session", _DATE, "AO AA AC AD"),
    ("37", "fee_paid", f"{_DATE} fee_type:2 payment_type:2 currency_type:3",
     "BV AO AA AC AD CG BK"),
    ("01", "block_patron", f"card_retained:1 {_DATE}", "AO AL AA AC"),
    # hold mode: + place, - cancel, * change (not served: no pickup elsewhere)
    ("15", "hold", f"hold_mode:1 {_DATE}", "BW BS BY AO AA AD AB AJ AC BO"),
    ("97", "request_acs_resend", "", ""),
    # 96 normally flows ACS -> SC; a kiosk that sends it gets our last response again.
    ("96", "request_sc_resend", "", ""),
]

_MSG = "AF AG"  # screen message / print line, allowed in every response
_ITEM_REPLY = f"AO AA AB AJ AH BT CI BH BV CK CH CS {_MSG}"

# Responses, ACS -> SC.  NB: 98 is 34 characters in the 3M guide
# (6 x 1 + 3 + 3 + 18 + 4); sip2.md's "98:36" is a typo.
_RESPONSE_ROWS = [
    ("94", "login_response", "ok:1", ""),
    ("98", "acs_status",
     "online_status:1 checkin_ok:1 checkout_ok:1 acs_renewal_policy:1 status_update_ok:1 "
     "offline_ok:1 timeout_period:3 retries_allowed:3 date_time_sync:18 protocol_version:4",
     f"AO AM BX AN {_MSG}"),
    ("24", "patron_status_response", f"patron_status:14 language:3 {_DATE}",
     f"AO AA AE BL CQ BH BV {_MSG}"),
    ("64", "patron_information_response",
     f"patron_status:14 language:3 {_DATE} hold_items_count:4 overdue_items_count:4 "
     "charged_items_count:4 fine_items_count:4 recall_items_count:4 unavailable_holds_count:4",
     f"AO AA AE BZ CA CB BL CQ BH BV CC AS AT AU AV BU CD BD BE BF {_MSG}"),
    ("12", "checkout_response", f"ok:1 renewal_ok:1 magnetic_media:1 desensitize:1 {_DATE}",
     _ITEM_REPLY),
    ("30", "renew_response", f"ok:1 renewal_ok:1 magnetic_media:1 desensitize:1 {_DATE}",
     _ITEM_REPLY),
    ("10", "checkin_response", f"ok:1 resensitize:1 magnetic_media:1 alert:1 {_DATE}",
     f"AO AB AQ AJ CL AA CK CH CS CT CV CY DA {_MSG}"),
    ("66", "renew_all_response", f"ok:1 renewed_count:4 unrenewed_count:4 {_DATE}",
     f"AO BM BN {_MSG}"),
    ("18", "item_information_response",
     f"circulation_status:2 security_marker:2 fee_type:2 {_DATE}",
     f"CF AH CJ CM AB AJ BG BH BV CK AQ AP CH CS CT {_MSG}"),
    ("36", "end_session_response", f"end_session:1 {_DATE}", f"AO AA {_MSG}"),
    ("38", "fee_paid_response", f"payment_accepted:1 {_DATE}", f"AO AA BK {_MSG}"),
    ("16", "hold_response", f"ok:1 available:1 {_DATE}", f"BW BR BS AO AA AB AJ {_MSG}"),
    ("96", "request_sc_resend", "", ""),
]

REQUESTS: dict[str, MessageSpec] = _table(_REQUEST_ROWS)

# Standard 2.00 requests this ACS does not serve (BX says N).  They are not decoded
# (the codec raises UnknownCommand for them), but the server still answers each with its
# proper response type, "not ok", and a screen message, so the kiosk is told clearly.
UNSUPPORTED_REPLY_FOR: dict[str, str] = {"19": "20", "25": "26"}
UNSUPPORTED_RESPONSES: dict[str, MessageSpec] = _table([
    ("20", "item_status_update_response", f"item_properties_ok:1 {_DATE}", "AB AJ CH AF AG"),
    ("26", "patron_enable_response", f"patron_status:14 language:3 {_DATE}",
     "AO AA AE BL CQ AF AG"),
])
RESPONSES: dict[str, MessageSpec] = _table(_RESPONSE_ROWS)

# Which response answers which request (97/96: the previous response, not a new one).
RESPONSE_FOR: dict[str, str | None] = {
    "93": "94", "99": "98", "23": "24", "63": "64", "11": "12", "09": "10", "29": "30",
    "65": "66", "17": "18", "35": "36", "37": "38", "01": "24", "15": "16", "97": None,
    "96": None,
}

# Variable field ids of SIP2 2.00 plus the common 3M extensions (CR..DA).
FIELD_NAMES: dict[str, str] = {
    "AA": "patron_id", "AB": "item_id", "AC": "terminal_password", "AD": "patron_password",
    "AE": "personal_name", "AF": "screen_message", "AG": "print_line", "AH": "due_date",
    "AJ": "title", "AL": "blocked_card_msg", "AM": "library_name",
    "AN": "terminal_location", "AO": "institution_id", "AP": "current_location",
    "AQ": "permanent_location", "AS": "hold_items", "AT": "overdue_items",
    "AU": "charged_items", "AV": "fine_items", "AY": "sequence_number", "AZ": "checksum",
    "BD": "home_address", "BE": "email_address", "BF": "home_phone_number", "BG": "owner",
    "BH": "currency_type", "BI": "cancel", "BK": "transaction_id", "BL": "valid_patron",
    "BM": "renewed_items", "BN": "unrenewed_items", "BO": "fee_acknowledged",
    "BP": "start_item", "BQ": "end_item", "BR": "queue_position", "BS": "pickup_location",
    "BT": "fee_type", "BU": "recall_items", "BV": "fee_amount", "BW": "expiration_date",
    "BX": "supported_messages", "BY": "hold_type", "BZ": "hold_items_limit",
    "CA": "overdue_items_limit", "CB": "charged_items_limit", "CC": "fee_limit",
    "CD": "unavailable_hold_items", "CF": "hold_queue_length", "CG": "fee_identifier",
    "CH": "item_properties", "CI": "security_inhibit", "CJ": "recall_date",
    "CK": "media_type", "CL": "sort_bin", "CM": "hold_pickup_date", "CN": "login_user_id",
    "CO": "login_password", "CP": "location_code", "CQ": "valid_password",
    "CR": "collection_code", "CS": "call_number", "CT": "destination_location",
    "CV": "alert_type", "CY": "hold_patron_id", "DA": "hold_patron_name",
}

# Identifier fields whose surrounding spaces are scanner/kiosk noise (trap 14).
# Passwords (AC/AD/CO) are deliberately left untouched.
ID_FIELDS = frozenset("AA AB AO AP AQ CN CP CT BP BQ CG BK".split())

# Positions of the 14-character patron status (24/64); "Y" = denied/true.
PATRON_STATUS_FLAGS: tuple[str, ...] = (
    "charge_denied", "renew_denied", "recall_denied", "hold_denied", "card_lost",
    "too_many_charged", "too_many_overdue", "too_many_renewals",
    "too_many_claims_returned", "too_many_lost", "excessive_fines", "excessive_fees",
    "recall_overdue", "too_many_billed",
)

# BX (98): one Y/N per request code, in this order.
SUPPORTED_MESSAGES_ORDER: tuple[str, ...] = (
    "23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15",
    "29", "65",
)

# 63 summary: a "Y" at position i asks for the item list in field SUMMARY_FIELDS[i].
SUMMARY_FIELDS: tuple[str, ...] = ("AS", "AT", "AU", "AV", "BU", "CD")

BLANK_DATE = " " * 18
LANGUAGE_UNKNOWN = "000"
