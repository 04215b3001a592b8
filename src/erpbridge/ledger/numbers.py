"""Control number arithmetic (ISA13, GS06, ST02, IDoc DOCNUM): pure functions, no database.

The wrap rule: ISA13, GS06 and ST02 run 1 .. 999,999,999 and never issue 0. A counter at its
maximum starts again at 1. For ISA13 and GS06, which partners use to detect duplicates, the ledger
then checks every number it issues again: if the partner was sent that number less than
``control_reuse_after`` ago (365 days by default), the allocation is refused with a
:class:`~erpbridge.errors.LedgerError` rather than risk a partner discarding a new interchange
as a duplicate. ST02 wraps without that check (it must only be unique within its group).

An SAP IDoc's DOCNUM (16 digits) identifies the IDoc in the SAP system, whichever trading partner
it concerns, so its counter is one for the whole ledger (kept under the partner
:data:`LEDGER_WIDE_PARTNER`, whatever partner the document is for), and it never wraps: at
9,999,999,999,999,999 the allocation is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .records import Level

#: The largest number each level may carry. ISA13 is 9 digits (N0 9/9), GS06 1-9 digits,
#: ST02 4-9 characters: all three wrap after 999,999,999. DOCNUM is 16 digits and never wraps.
MAXIMUM: Final[Mapping[Level, int]] = {
    Level.ISA: 999_999_999,
    Level.GS: 999_999_999,
    Level.ST: 999_999_999,
    Level.DOCNUM: 9_999_999_999_999_999,
}

#: Levels whose numbers partners use to detect duplicates: a wrap onto a recently used number is
#: refused. ST02 only has to be unique within its group, and every group has a fresh GS06.
REUSE_CHECKED: Final = frozenset({Level.ISA, Level.GS})

#: Levels with one counter for the whole ledger instead of one per partner, and never a wrap.
LEDGER_WIDE: Final = frozenset({Level.DOCNUM})

#: The ``partner`` under which ledger-wide counters are kept (``Ledger.control_numbers("*")``).
LEDGER_WIDE_PARTNER: Final = "*"

#: Digits of an IDoc DOCNUM as written in the control record.
DOCNUM_WIDTH: Final = 16


def counter_owner(partner: str, level: Level) -> str:
    """Whose counter a number of ``level`` for ``partner`` comes from."""
    return LEDGER_WIDE_PARTNER if level in LEDGER_WIDE else partner


def next_block(last: int, count: int, maximum: int) -> tuple[int, bool]:
    """The first number of the next block of ``count`` numbers after ``last``, and whether it wrapped.

    Numbers run 1 .. ``maximum``; 0 is never issued. A block never straddles the maximum: if it
    would not fit, it starts again at 1 (the wrap).
    """
    if count < 1 or count > maximum:
        raise ValueError(f"a block holds 1 .. {maximum} numbers, not {count}")
    if last < 0:
        raise ValueError(f"a counter cannot be negative, got {last}")
    if last + count <= maximum:
        return last + 1, False
    return 1, True


def format_number(level: Level, number: int) -> str:
    """A control number as exchanged: ISA13 as 9 digits, GS06 plain, ST02 at least 4 digits,
    DOCNUM as 16 digits."""
    if level is Level.ISA:
        return f"{number:09d}"
    if level is Level.ST:
        return f"{number:04d}"
    if level is Level.DOCNUM:
        return f"{number:0{DOCNUM_WIDTH}d}"
    return str(number)
