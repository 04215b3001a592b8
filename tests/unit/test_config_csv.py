"""An outbound flow's ``csv_mapping``, ``csv_encoding`` and ``csv_delimiter`` (docs/configuration.md):
checked when the configuration loads, errors naming the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from erpbridge.config import SHIPPED_MAPPINGS, load_config
from tests.conftest import ROOT
from tests.unit.test_config import MINIMAL, error_of, load_text

OUT = """
[endpoints.wms]
type = "folder"
root = "var/wms"

[flows.inventory_out]
direction = "out"
partner = "megamart"
source = { endpoint = "wms", folder = "outbound/inventory" }
documents = { InventoryAdvice = "x12/846" }
every = "1m"
"""
INVENTORY = "mappings/wms/inventory-csv-to-inventory-advice.yaml"


def with_keys(*lines: str) -> str:
    return MINIMAL + OUT + "".join(line + "\n" for line in lines)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A configuration folder with its own mappings/ (copied from the shipped ones)."""
    shutil.copytree(ROOT / "mappings" / "wms", tmp_path / "mappings" / "wms")
    shutil.copytree(ROOT / "mappings" / "codes", tmp_path / "mappings" / "codes")
    return tmp_path


def test_csv_mapping_is_relative_to_the_config_file(site: Path) -> None:
    config = load_text(site, with_keys(f'csv_mapping = "{INVENTORY}"', 'csv_encoding = "cp1252"'))
    flow = config.flows["inventory_out"]
    assert flow.csv_mapping == site / INVENTORY
    assert flow.csv_encoding == "cp1252" and flow.csv_delimiter is None


def test_without_a_mappings_folder_beside_the_config_the_shipped_one_is_used(tmp_path: Path) -> None:
    config = load_text(tmp_path, with_keys(f'csv_mapping = "{INVENTORY}"', 'csv_delimiter = ";"'))
    flow = config.flows["inventory_out"]
    assert flow.csv_mapping == SHIPPED_MAPPINGS / "wms" / "inventory-csv-to-inventory-advice.yaml"
    assert flow.csv_mapping.is_file() and flow.csv_delimiter == ";"


def test_the_defaults_without_csv_keys(tmp_path: Path) -> None:
    flow = load_text(tmp_path, with_keys()).flows["inventory_out"]
    assert (flow.csv_mapping, flow.csv_encoding, flow.csv_delimiter) == (None, "utf-8", None)


def test_the_example_reads_the_wms_csv_files() -> None:
    flows = load_config(ROOT / "config.example.toml").flows
    assert flows["megamart_inventory_out"].csv_mapping == ROOT / INVENTORY
    assert (
        flows["megamart_ship_notices_out"].csv_mapping
        == ROOT / "mappings/wms/ship-notice-csv-to-ship-notice.yaml"
    )


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            ['csv_mapping = "mappings/wms/nope.yaml"'],
            "flows.inventory_out.csv_mapping: {site}/mappings/wms/nope.yaml:1: cannot read the mapping: No such file or directory",
        ),
        (
            ['csv_mapping = "mappings/wms/ship-notice-csv-to-ship-notice.yaml"'],
            "flows.inventory_out.csv_mapping: {site}/mappings/wms/ship-notice-csv-to-ship-notice.yaml makes "
            "ShipNotice, which this flow does not take (documents: InventoryAdvice)",
        ),
        (
            ['csv_mapping = "mappings/x12/inventory-advice-to-846.yaml"'],
            "flows.inventory_out.csv_mapping: {site}/mappings/x12/inventory-advice-to-846.yaml reads "
            '"InventoryAdvice"; a CSV mapping says source: csv',
        ),
        (
            [f'csv_mapping = "{INVENTORY}"', 'csv_encoding = "klingon"'],
            'flows.inventory_out.csv_encoding: "klingon" is not an encoding Python knows, such as "cp1252"',
        ),
        (
            [f'csv_mapping = "{INVENTORY}"', 'csv_delimiter = ";;"'],
            'flows.inventory_out.csv_delimiter: ";;" is not one character such as ";" or "\\t"',
        ),
        (
            ['csv_encoding = "cp1252"'],
            'flows.inventory_out.csv_encoding: applies to .csv files, which need csv_mapping = "..." too',
        ),
        (
            [f'csv_mapping = "{INVENTORY}"', "csv_mapping_typo = 1"],
            "flows.inventory_out.csv_mapping_typo: unknown key (did you mean csv_mapping?)",
        ),
    ],
    ids=["missing file", "wrong kind", "not a CSV mapping", "encoding", "delimiter", "no mapping", "typo"],
)
def test_broken_csv_keys_name_file_and_key(site: Path, keys: list[str], expected: str) -> None:
    shutil.copytree(ROOT / "mappings" / "x12", site / "mappings" / "x12")
    path, message = error_of(site, with_keys(*keys))
    assert message.splitlines() == [f"{path}: {expected.format(site=site)}"]


def test_a_broken_mapping_file_is_reported_with_its_line(site: Path) -> None:
    (site / INVENTORY).write_text("source: csv\ntarget: InventoryAdvice\nfields:\n  advice_numbr: x\n")
    path, message = error_of(site, with_keys(f'csv_mapping = "{INVENTORY}"'))
    assert message.startswith(f"{path}: flows.inventory_out.csv_mapping: {site / INVENTORY}:4: ")
    assert "did you mean 'advice_number'?" in message


def test_an_inbound_flow_takes_no_csv_mapping(tmp_path: Path) -> None:
    text = MINIMAL.replace('documents = ["x12/850"]', f'documents = ["x12/850"]\ncsv_mapping = "{INVENTORY}"')
    path, message = error_of(tmp_path, text)
    assert message.splitlines() == [f"{path}: flows.orders_in.csv_mapping: unknown key (known keys: acks, cron, "
                                    "direction, documents, enabled, every, partner, retry, source, target)"]  # fmt: skip


# -- layout, rejects, inventory_rules (docs/flatfiles.md) ------------------------------------------


def test_a_layout_by_name_rejects_and_inventory_rules(site: Path) -> None:
    config = load_text(
        site,
        with_keys(
            f'csv_mapping = "{INVENTORY}"',
            'layout = "inventory-snapshot"',
            'rejects = "process"',
            'inventory_rules = "mappings/wms/inventory-rules.yaml"',
        ),
    )
    flow = config.flows["inventory_out"]
    assert flow.layout == site / "mappings/wms/layouts/inventory-snapshot.yaml"
    assert flow.rejects == "process" and flow.inventory_rules == site / "mappings/wms/inventory-rules.yaml"
    shipped = load_text(site.parent, with_keys(f'csv_mapping = "{INVENTORY}"', 'layout = "pick-order"'))
    assert shipped.flows["inventory_out"].layout == SHIPPED_MAPPINGS / "wms/layouts/pick-order.yaml"
    assert shipped.flows["inventory_out"].rejects == "quarantine"  # the safe default


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (['layout = "inventory-snapshot"'], 'flows.inventory_out.layout: a layout\'s rows are made documents by csv_mapping = "..."; add it'),
        ([f'csv_mapping = "{INVENTORY}"', 'layout = "nope"'], "flows.inventory_out.layout: {site}/mappings/wms/layouts/nope.yaml:1: cannot read the layout"),
        ([f'csv_mapping = "{INVENTORY}"', 'layout = "inventory-snapshot"', 'csv_delimiter = ";"'], "flows.inventory_out.csv_delimiter: the layout declares the files' encoding and delimiter; remove this key"),
        ([f'csv_mapping = "{INVENTORY}"', 'rejects = "process"'], 'flows.inventory_out.rejects: rejected rows come from a layout; add layout = "..."'),
        ([f'csv_mapping = "{INVENTORY}"', 'layout = "inventory-snapshot"', 'rejects = "drop"'], 'flows.inventory_out.rejects: "drop" is not one of "quarantine", "process"'),
        (['inventory_rules = "mappings/wms/nope.yaml"'], "flows.inventory_out.inventory_rules: {site}/mappings/wms/nope.yaml:1: cannot read the inventory rules"),
    ],
    ids=["no mapping", "missing layout", "delimiter", "rejects without layout", "bad rejects", "missing rules"],
)  # fmt: skip
def test_broken_layout_keys_name_file_and_key(site: Path, keys: list[str], expected: str) -> None:
    path, message = error_of(site, with_keys(*keys))
    assert message.splitlines()[0].startswith(f"{path}: {expected.format(site=site)}"), message


def test_a_broken_layout_is_reported_with_its_line(site: Path) -> None:
    broken = site / "mappings/wms/layouts/inventory-snapshot.yaml"
    broken.write_text(broken.read_text().replace("type: integer}", "type: int}", 1))
    path, message = error_of(site, with_keys(f'csv_mapping = "{INVENTORY}"', 'layout = "inventory-snapshot"'))
    assert message.startswith(f"{path}: flows.inventory_out.layout: {broken}:17: unknown type 'int'"), message
