"""Shared test fixtures: where the corpus and the samples are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "x12"
SAMPLES = ROOT / "edi_samples"
LOCAL_CORPUS = ROOT / "tests" / "corpus"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.edi")) + sorted(LOCAL_CORPUS.glob("*.edi"))
    return files


@pytest.fixture(scope="session", autouse=True)
def _corpus_present() -> None:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared X12 corpus is missing: expected it at {CORPUS}")
