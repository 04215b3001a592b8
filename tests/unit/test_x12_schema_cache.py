"""The JSON copy of the X12 schema files (schemas/compiled.json) is current, and never read stale."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

from erpbridge.formats.x12 import schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_copy_is_what_the_generator_makes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_x12_cache  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert gen_x12_cache.main(["--check"]) == 0, "run scripts/gen_x12_cache.py"


def test_every_schema_file_has_its_copy_and_the_same_data() -> None:
    names = schema._yaml_files()
    assert "segments.yaml" in names and "004010/850.yaml" in names and "overlays/bigbox-856.yaml" in names
    cached = schema._cached()
    for name in names:
        text = resources.files("erpbridge.formats.x12.schemas").joinpath(name).read_text(encoding="utf-8")
        assert name in cached, name
        assert json.loads(cached[name]["json"]) == yaml.load(text, Loader=yaml.SafeLoader), name


def test_a_copy_whose_digest_differs_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        resources.files("erpbridge.formats.x12.schemas")
        .joinpath("004010/997.yaml")
        .read_text(encoding="utf-8")
    )
    marker = {"segments": ["copied"]}
    copy = json.dumps(marker)
    monkeypatch.setattr(schema, "_cached", lambda: {"004010/997.yaml": {"sha256": "0" * 64, "json": copy}})
    assert schema._read("004010/997.yaml") == yaml.load(text, Loader=yaml.SafeLoader)
    digest = schema._digest(text)
    monkeypatch.setattr(schema, "_cached", lambda: {"004010/997.yaml": {"sha256": digest, "json": copy}})
    assert schema._read("004010/997.yaml") == marker


def test_schemas_from_the_copy_are_the_schemas_from_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Order included: elements, segments and loops come out exactly as from the YAML files."""

    def build() -> list[str]:
        schema.dictionary.cache_clear()
        schema.load_set.cache_clear()
        out = []
        for version in ("004010", "005010"):
            d = schema.dictionary(version)
            out += [
                repr(list(d.segments.items())),
                repr(list(d.elements.items())),
                repr(list(d.composites.items())),
            ]
            for set_id in ("810", "846", "850", "855", "856", "940", "945", "997", "999"):
                s = schema.load_set(version, set_id)
                out.append(repr(s.root) if s is not None else "")
        return out

    try:
        from_copy = build()
        monkeypatch.setattr(schema, "_cached", dict)
        from_yaml = build()
    finally:
        schema.dictionary.cache_clear()
        schema.load_set.cache_clear()
    assert len(from_copy) > 20
    assert from_copy == from_yaml
