#!/usr/bin/env python3
"""Regenerate schemas/canonical/<Kind>.schema.json from the canonical model's dataclasses.

    python scripts/gen_schemas.py            # rewrite the files
    python scripts/gen_schemas.py --check    # exit 1 if a file is missing or differs (what CI's test does)

Run it after changing anything in src/erpbridge/model/; tests/unit/test_model.py fails until you do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from erpbridge.model import KINDS, schema_text  # noqa: E402

OUT = ROOT / "schemas" / "canonical"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write into (default {OUT})")
    args = parser.parse_args(argv)
    stale = []
    for kind in KINDS:
        path = args.out / f"{kind}.schema.json"
        text = schema_text(kind)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    expected = {f"{kind}.schema.json" for kind in KINDS}
    extra = (
        sorted(p for p in args.out.glob("*.schema.json") if p.name not in expected)
        if args.out.is_dir()
        else []
    )
    for path in extra:
        print(f"not a canonical document kind (remove it): {path}", file=sys.stderr)
    if args.check and stale:
        for path in stale:
            print(f"out of date: {path} (run scripts/gen_schemas.py)", file=sys.stderr)
        return 1
    return 1 if extra else 0


if __name__ == "__main__":
    sys.exit(main())
