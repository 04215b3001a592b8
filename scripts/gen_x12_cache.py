#!/usr/bin/env python3
"""Regenerate src/erpbridge/formats/x12/schemas/compiled.json, the X12 schema files read as JSON.

    python scripts/gen_x12_cache.py            # rewrite the file
    python scripts/gen_x12_cache.py --check    # exit 1 if it is missing or differs (what CI's test does)

The YAML files stay the source: the engine uses a file's JSON copy only while the digest it holds
matches the YAML text, so an edited schema is never read stale, only slower until this runs.
tests/unit/test_x12_schema_cache.py fails until you do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from erpbridge.formats.x12.schema import cache_text  # noqa: E402

OUT = ROOT / "src" / "erpbridge" / "formats" / "x12" / "schemas" / "compiled.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    text = cache_text()
    current = OUT.read_text(encoding="utf-8") if OUT.is_file() else None
    if args.check:
        if current != text:
            print(f"{OUT} is missing or stale: run scripts/gen_x12_cache.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
