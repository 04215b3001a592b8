"""Fixtures for the observability tests: scraping an endpoint with a real HTTP client, a logging
set-up restored after each test, and the ledger tests' PostgreSQL server (a database per test)."""

from __future__ import annotations

import logging
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ledger.conftest import create_database, drop_database, pg_admin  # noqa: F401 (fixture)


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    content_type: str


def get(url: str, *, accept: str | None = None) -> Response:
    """GET ``url`` with urllib (a real HTTP client over a real socket); errors are responses too."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return Response(r.status, r.read().decode(), r.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as e:
        return Response(e.code, e.read().decode(), e.headers.get("Content-Type", ""))


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    """``/metrics`` parsed by prometheus_client's own parser: {(sample name, labels): value}."""
    r = get(f"{base}/metrics")
    assert r.status == 200, r.body
    assert r.content_type.startswith("text/plain"), r.content_type
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.body)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def matching(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return {lab: v for (n, lab), v in samples.items() if n == name and want <= lab}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Whatever a test does to the root logger and the exception hooks is undone after it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = (sys.excepthook, threading.excepthook)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


@pytest.fixture
def pg_database(pg_admin: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    """A PostgreSQL database of this test's own: (admin URL, database name)."""
    name = f"erpbridge_obs_{uuid.uuid4().hex[:10]}"
    create_database(pg_admin, name)
    yield pg_admin, name
    drop_database(pg_admin, name)
