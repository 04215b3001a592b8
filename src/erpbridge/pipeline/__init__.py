"""Flows: partner X12 in → acknowledged, translated, delivered; canonical documents out → X12 sent.

Every step is recorded in the ledger before the next one starts, and a file leaves the place it
came from only after the ledger says it is done, so a crash at any point is resumed by the next
run and nothing is lost or done twice (docs/pipeline.md).
"""

from .runner import Runner, Summary

__all__ = ["Runner", "Summary"]
