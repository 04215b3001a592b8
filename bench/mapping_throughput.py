"""Mapping throughput: ten-line 850s mapped to PurchaseOrder and back, per second on one core.

baseline: the issue's target of 500 documents per second per core, each way.

Run (after ./scripts/test or ./scripts/demo has built .venv)::

    .venv/bin/python bench/mapping_throughput.py [--documents 300]

It decodes the bundled ten-line 850 (edi_samples/valid/850_004010.edi) once, then times, on this
process's single core: X12 JSON view -> PurchaseOrder (mappings/x12/850-to-purchase-order.yaml,
including the model's validation of the result) and PurchaseOrder -> X12 JSON view
(mappings/x12/purchase-order-to-850.yaml). It prints documents per second each way, the share of
field expressions compiled natively, and the target.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from erpbridge.formats.x12 import decode
from erpbridge.mapping import load_mapping

ROOT = Path(__file__).resolve().parent.parent
TARGET = 500.0


def native_share(mapping: object) -> tuple[int, int]:
    native = total = 0
    stack = list(getattr(mapping, "fields", {}).values())
    while stack:
        spec = stack.pop()
        for expr in (spec.expr, spec.each, spec.value, spec.when):
            if expr is not None:
                total += 1
                native += expr.is_native
        if spec.fields:
            stack.extend(spec.fields.values())
    return native, total


def rate(fn: object, arg: object, n: int) -> float:
    call = fn  # type: ignore[assignment]
    for _ in range(5):
        call(arg)  # type: ignore[operator]
    start = time.perf_counter()
    for _ in range(n):
        result = call(arg)  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    assert result.ok, result.findings
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    args = parser.parse_args()
    data = (ROOT / "edi_samples" / "valid" / "850_004010.edi").read_bytes()
    tset = decode(data).document["interchanges"][0]["groups"][0]["sets"][0]
    assert len(tset["PO1_loop"]) == 10, "the bench needs the ten-line sample"
    inbound = load_mapping(ROOT / "mappings" / "x12" / "850-to-purchase-order.yaml")
    outbound = load_mapping(ROOT / "mappings" / "x12" / "purchase-order-to-850.yaml")
    po = inbound.apply(tset).document
    rows = [
        ("850 -> PurchaseOrder", rate(inbound.apply, tset, args.documents), native_share(inbound)),
        ("PurchaseOrder -> 850", rate(outbound.apply, po, args.documents), native_share(outbound)),
    ]
    print(f"{'direction':<24}{'docs/s':>10}{'native expressions':>22}{'vs target':>12}")
    for name, per_s, (native, total) in rows:
        verdict = "PASS" if per_s >= TARGET else "FAIL"
        print(f"{name:<24}{per_s:>10.0f}{f'{native}/{total}':>22}{per_s / TARGET:>11.2f}x {verdict}")
    print(f"target: {TARGET:.0f} ten-line 850s per second per core, each way")


if __name__ == "__main__":
    main()
