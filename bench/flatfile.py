"""Throughput and peak memory of formats/flatfile reading a WMS inventory snapshot, 1M rows.

baseline: the standard library's ``csv`` module in the same run (``csv.DictReader`` over the
decoded text: rows of strings, nothing typed, nothing checked), and for fixed width plain Python
slicing of each line (strings, nothing typed).

Run::

    .venv/bin/python bench/flatfile.py                 # 1,000,000 rows of CSV and of fixed width
    .venv/bin/python bench/flatfile.py --rows 200000   # quicker

What it does: generates (deterministically) a snapshot in the bundled ``inventory-snapshot`` CSV
layout (9 columns: text, a datetime, integers, a code) and the same rows in a fixed-width layout of
the same columns, into bench/.data/; then measures each (file, reader) pair in its own fresh
subprocess, so each peak RSS (VmHWM, the process's own high-water mark) belongs to one measurement.
The time is taken inside the child around the read only (start-up and imports excluded), the file
already in memory. Readers:

- ``stdlib-csv``: ``list(csv.DictReader(io.StringIO(data.decode())))``, the floor for CSV;
- ``flatfile-csv``: :func:`erpbridge.formats.flatfile.read`: decoded, tokenised by the same ``csv``
  module in strict mode, every value typed and checked (datetime, integers, code list, lengths);
- ``slices-fixed``: each line sliced into a dict of 9 strings, the floor for fixed width;
- ``flatfile-fixed``: :func:`erpbridge.formats.flatfile.read` with the fixed-width layout.

Prints rows/s, MB/s and peak RSS per pair; docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from x12_throughput import peak_rss  # bench/ is on the path when this file runs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
CSV_LAYOUT = ROOT / "mappings" / "wms" / "layouts" / "inventory-snapshot.yaml"

FIXED_LAYOUT = """
layout: inventory-snapshot-fixed
kind: fixed
encoding: ascii
columns:
  - {name: warehouse, start: 1, width: 10}
  - {name: snapshot_at, type: datetime, format: "%Y%m%d%H%M%S", start: 11, width: 14}
  - {name: sku, start: 25, width: 20}
  - {name: upc, start: 45, width: 14}
  - {name: description, start: 59, width: 30, required: false}
  - {name: on_hand, type: integer, start: 89, width: 9, pad: "0"}
  - {name: allocated, type: integer, start: 98, width: 9, pad: "0"}
  - {name: available, type: integer, start: 107, width: 9, pad: "0"}
  - {name: uom, type: code, values: [EA, CA, PK, BX, DZ, PR, ST], start: 116, width: 2}
"""
_WIDTHS = (10, 14, 20, 14, 30, 9, 9, 9, 2)


def generate(rows: int) -> tuple[Path, Path, Path]:
    DATA.mkdir(exist_ok=True)
    csv_path, fixed_path = DATA / f"snapshot-{rows}.csv", DATA / f"snapshot-{rows}.txt"
    layout_path = DATA / "inventory-snapshot-fixed.yaml"
    layout_path.write_text(FIXED_LAYOUT)
    if not csv_path.exists() or not fixed_path.exists():
        with csv_path.open("w", newline="") as c, fixed_path.open("w", newline="") as f:
            c.write("warehouse,snapshot_at,sku,upc,description,on_hand,allocated,available,uom\n")
            for i in range(rows):
                wh = "BRL-LOU1" if i % 3 else "BRL-RNO2"
                sku, upc, desc = f"NW-{i:08d}", f"0614141{i % 100000:05d}", f"ITEM {i} COLOUR SIZE"
                on_hand, alloc = (i * 7919) % 5000, (i * 31) % 200
                avail, uom = max(on_hand - alloc, 0), "EA" if i % 5 else "CA"
                c.write(f"{wh},2026-03-16T06:00:00,{sku},{upc},{desc},{on_hand},{alloc},{avail},{uom}\n")
                values = (wh, "20260316060000", sku, upc, desc, str(on_hand), str(alloc), str(avail), uom)
                f.write(
                    "".join(
                        v.rjust(w, "0") if n in (5, 6, 7) else v.ljust(w)
                        for n, (v, w) in enumerate(zip(values, _WIDTHS, strict=True))
                    )
                    + "\n"
                )
    return csv_path, fixed_path, layout_path


def child(tool: str, path: str, layout: str) -> None:
    """One measurement, in its own process: prints JSON."""
    import csv
    import io

    from erpbridge.formats.flatfile import load_layout, read

    data = Path(path).read_bytes()
    lay = load_layout(layout) if layout else None
    started = time.perf_counter()
    if tool == "stdlib-csv":
        count = len(list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))))
    elif tool == "slices-fixed":
        starts = [sum(_WIDTHS[:n]) for n in range(len(_WIDTHS))]
        names = (
            "warehouse",
            "snapshot_at",
            "sku",
            "upc",
            "description",
            "on_hand",
            "allocated",
            "available",
            "uom",
        )
        out = [
            {n: line[s : s + w] for n, s, w in zip(names, starts, _WIDTHS, strict=True)}
            for line in data.decode("ascii").splitlines()
        ]
        count = len(out)
    else:
        assert lay is not None
        result = read(lay, data, file=Path(path).name)
        assert not result.rejects, result.rejects[:3]
        count = len(result.rows)
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": count, "seconds": elapsed, "bytes": len(data), "peak_rss": peak_rss()}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    csv_path, fixed_path, fixed_layout = generate(args.rows)
    runs = [
        ("stdlib-csv", csv_path, ""),
        ("flatfile-csv", csv_path, str(CSV_LAYOUT)),
        ("slices-fixed", fixed_path, ""),
        ("flatfile-fixed", fixed_path, str(fixed_layout)),
    ]
    print(
        f"{args.rows:,} rows; CSV {csv_path.stat().st_size / 1e6:.0f} MB, fixed width {fixed_path.stat().st_size / 1e6:.0f} MB"
    )
    print(f"{'reader':<16}{'rows/s':>12}{'MB/s':>8}{'seconds':>9}{'peak RSS':>11}")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for tool, path, layout in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", tool, str(path), layout],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        r = json.loads(out.stdout)
        print(
            f"{tool:<16}{r['rows'] / r['seconds']:>12,.0f}{r['bytes'] / 1e6 / r['seconds']:>8.1f}"
            f"{r['seconds']:>9.2f}{r['peak_rss'] / 2**20:>8.0f} MiB"
        )


if __name__ == "__main__":
    main()
