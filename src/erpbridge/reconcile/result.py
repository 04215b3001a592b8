"""What one run of a reconciliation job found: its discrepancies against its threshold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..ledger import Discrepancy


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """One run of one job.

    Fields:
        job: the job's name (``orders``, ``acks``, ``shipments``, ``inventory``)
        discrepancies: what it found
        threshold: how many discrepancies per partner are tolerated before it counts as a delta
            over threshold (exit 1, a notification)
        checked: how many things it compared (POs, documents, shipments, SKU-locations), per partner
        started_at, finished_at: when (UTC)
        error: why the job could not finish (it then found nothing it can vouch for)
        notes: what else a person should know (a source that was missing, a skipped ERP)
        run_id: the ledger's job run
        fixed: what ``--fix`` did, one line per remedy applied
    """

    job: str
    discrepancies: Sequence[Discrepancy]
    threshold: int = 0
    checked: Mapping[str, int] = field(default_factory=dict)
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    notes: Sequence[str] = ()
    run_id: int | None = None
    fixed: Sequence[str] = ()

    @property
    def by_partner(self) -> Counter[str]:
        """How many discrepancies per partner (every partner checked appears, with 0 if clean)."""
        counts: Counter[str] = Counter({p: 0 for p in self.checked})
        counts.update(d.partner for d in self.discrepancies)
        return counts

    @property
    def over_threshold(self) -> dict[str, int]:
        """The partners whose discrepancies exceed the threshold, with their counts."""
        return {p: n for p, n in sorted(self.by_partner.items()) if n > self.threshold}

    @property
    def verdict(self) -> str:
        """``error``, ``over threshold``, ``within threshold`` or ``clean``."""
        if self.error is not None:
            return "error"
        if self.over_threshold:
            return "over threshold"
        return "within threshold" if self.discrepancies else "clean"


def exit_status(results: Sequence[JobResult]) -> int:
    """The command's exit status: 2 if a job failed, else 1 if one is over its threshold, else 0."""
    if any(r.error is not None for r in results):
        return 2
    return 1 if any(r.over_threshold for r in results) else 0


__all__ = ["JobResult", "exit_status"]
