"""The PurchaseOrder -> A_SalesOrder mapping and its sample cases (no SAP server needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from erpbridge.mapping import load_mapping
from erpbridge.mapping.samples import run_case, sample_cases

from .conftest import MAPPING


def test_the_shipped_sample_passes() -> None:
    (case,) = sample_cases(MAPPING)[0]
    result = run_case(load_mapping(MAPPING), case)
    assert result.ok, "\n".join(result.problems + result.diff)


def test_a_wrong_expectation_shows_a_json_diff(tmp_path: Path) -> None:
    folder = tmp_path / "sap"
    shutil.copytree(MAPPING.parent, folder)
    mapping = folder / MAPPING.name
    (case,) = sample_cases(mapping)[0]
    expected = json.loads(case.expected.read_text())
    expected[0]["to_Item"][1]["RequestedQuantityUnit"] = "EA"
    case.expected.write_text(json.dumps(expected))
    result = run_case(load_mapping(mapping), case)
    assert not result.ok
    assert '-        "RequestedQuantityUnit": "EA",' in result.diff
    assert '+        "RequestedQuantityUnit": "CS",' in result.diff


def test_a_unit_sap_does_not_know_is_a_finding_naming_the_table() -> None:
    (case,) = sample_cases(MAPPING)[0]
    order = json.loads(case.input.read_text())
    order["lines"][0]["unit"] = "GR"
    applied = load_mapping(MAPPING).apply(order)
    assert applied.document is None
    (finding,) = applied.findings
    assert finding.target == "to_Item[0].RequestedQuantityUnit" and "sap_units" in finding.message
