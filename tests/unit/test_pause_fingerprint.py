"""The credential fingerprint a paused endpoint keeps in the ledger (pipeline/pauses.py) cannot be
tested against guessed secrets by a plain hash: it is salted per pause and slow (scrypt), and still
tells whether the endpoint's credential is the one that was refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from erpbridge.config import load_config
from erpbridge.pipeline.pauses import _DOMAIN, credential_fingerprint, endpoint_secrets, fingerprint_matches
from tests.unit.test_config_netsuite import BASE, write

SHORT = {"NS_CONSUMER_KEY": "ck", "NS_CONSUMER_SECRET": "cs", "NS_TOKEN_ID": "tid", "NS_TOKEN_SECRET": "1234"}


def _unsalted(config: object, endpoint: str, guess: str) -> str:
    """What an attacker with the ledger computes for a guessed token secret under an unsalted hash
    (the form of the first version: SHA-256 over public parts and the values, 16 hex digits)."""
    h = hashlib.sha256(_DOMAIN)
    ep = config.endpoints.get(endpoint)  # type: ignore[attr-defined]
    h.update(repr(getattr(ep, "auth", None)).encode() + b"\x00")
    for key, ref in endpoint_secrets(config, endpoint):  # type: ignore[arg-type]
        value = guess if key.endswith("token_secret") else ref.credential().reveal()
        h.update(key.encode() + b"\x00" + value.encode() + b"\x00")
    return h.hexdigest()[:16]


def test_a_short_secret_cannot_be_found_by_hashing_guesses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SHORT.items():
        monkeypatch.setenv(name, value)
    config = load_config(write(tmp_path, BASE))
    stored = credential_fingerprint(config, "ns_soap")
    guesses = [f"{n:04d}" for n in range(10_000)]
    assert not any(_unsalted(config, "ns_soap", g) in stored for g in guesses)
    # salted per pause: the same credential fingerprints differently each time, no table applies
    again = credential_fingerprint(config, "ns_soap")
    assert again != stored and "1234" not in stored
    assert fingerprint_matches(stored, config, "ns_soap") and fingerprint_matches(again, config, "ns_soap")


def test_the_fingerprint_tells_a_replaced_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SHORT.items():
        monkeypatch.setenv(name, value)
    config = load_config(write(tmp_path, BASE))
    stored = credential_fingerprint(config, "ns_soap")
    monkeypatch.setenv("NS_TOKEN_SECRET", "1235")
    assert not fingerprint_matches(stored, config, "ns_soap")
    monkeypatch.setenv("NS_TOKEN_SECRET", "1234")
    assert fingerprint_matches(stored, config, "ns_soap")
    # another endpoint's fingerprint, a damaged one, or one of an older form: not this credential
    assert not fingerprint_matches(stored, config, "ns")
    assert not fingerprint_matches("s1$zz$00", config, "ns_soap")
    assert not fingerprint_matches("0a1b2c3d4e5f6071", config, "ns_soap")
    assert len(stored) <= 64  # the ledger's column
