"""Endpoints paused because they refused erpbridge's credentials (an expired or revoked token).

When a connector raises :class:`~erpbridge.errors.AuthenticationError` (NetSuite's HTTP 401
INVALID_LOGIN, SAP's 401, a refused OAuth client), the runner pauses that endpoint instead of
quarantining the document: the pause is kept in the ledger (:meth:`Ledger.pause_endpoint`, so every
process and a restart see it), the document stays in its work state (not failed, no attempt
spent) and every later document for that endpoint waits behind it, without a request being sent:
a revoked token tried on every poll would only fill NetSuite's Login Audit Trail (and can lock the
user out). The pause appends an ``endpoint_pause`` event, which the notification job sends.

The endpoint resumes by itself when its credential is replaced: the pause records a
**fingerprint** of the credential's values (:func:`credential_fingerprint`: a salted scrypt hash,
never the values), and a runner whose credential no longer matches it (:func:`fingerprint_matches`)
resumes the endpoint and delivers what waited. An operator resumes it with ``erpbridge endpoint resume NAME`` (after fixing
what a new secret does not fix: a role's permission, a certificate mapping).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterator

from ..config import Config, SecretRef
from ..errors import ConfigError
from ..ledger import Ledger
from ..ledger.pauses import EndpointPause

log = logging.getLogger(__name__)

#: The fingerprint's domain: the same secrets fingerprint differently in any other use of SHA-256.
_DOMAIN = b"erpbridge credential fingerprint v1\x00"


def endpoint_secrets(config: Config, endpoint: str) -> Iterator[tuple[str, SecretRef]]:
    """The secret references an endpoint uses, with their key paths (``endpoints.ns.auth.token_id``)."""
    prefixes = (f"endpoints.{endpoint}.", f"endpoints.{_quoted(endpoint)}.")
    for key, ref in config.secrets():
        if key.startswith(prefixes):
            yield key, ref


#: The fingerprint's form: ``s1$<salt, 16 hex>$<scrypt, 32 hex>``. The salt is random per pause, so
#: no table computed in advance applies, and scrypt makes each guess cost memory and time: a secret
#: cannot be read back from the ledger, and testing guesses against a fingerprint is slow. A short,
#: guessable password is still found by enough guesses (docs/operations.md): use long secrets.
_SCHEME = "s1"
_SALT_BYTES = 8
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 16


def _credential(config: Config, endpoint: str) -> bytes:
    """What the endpoint logs in with now: its secrets' values and the rest of its ``auth`` (a
    certificate ID, a user). A secret that cannot be read counts as its name."""
    ep = config.endpoints.get(endpoint)
    parts = [_DOMAIN, repr(getattr(ep, "auth", None)).encode() + b"\x00"]  # references and plain settings
    for key, ref in endpoint_secrets(config, endpoint):
        try:
            value = ref.credential().reveal()
        except ConfigError:
            value = f"\x00unreadable {ref.name}"
        parts.append(key.encode() + b"\x00" + value.encode() + b"\x00")
    return b"".join(parts)


def credential_fingerprint(config: Config, endpoint: str, *, salt: bytes | None = None) -> str:
    """A fingerprint of what the endpoint logs in with now (:data:`_SCHEME`): scrypt over the
    credential with a random ``salt`` (given: to check a recorded fingerprint). Two fingerprints of
    the same credential differ; :func:`fingerprint_matches` tells whether one is of the credential."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(
        _credential(config, endpoint),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=_SCRYPT_LEN,
    )
    return f"{_SCHEME}${salt.hex()}${digest.hex()}"


def fingerprint_matches(fingerprint: str, config: Config, endpoint: str) -> bool:
    """Whether ``fingerprint`` (recorded by a pause) is of the credential the endpoint has now. A
    fingerprint of another form (a pause recorded by an older erpbridge) matches nothing: the
    endpoint is resumed and tried once, and paused again with a fingerprint of this form."""
    scheme, _, rest = fingerprint.partition("$")
    salt_hex, _, _ = rest.partition("$")
    if scheme != _SCHEME:
        return False
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(credential_fingerprint(config, endpoint, salt=salt), fingerprint)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def current_pause(ledger: Ledger, config: Config, endpoint: str, *, worker: str) -> EndpointPause | None:
    """The endpoint's pause if it is still paused; when its credential was replaced since (another
    fingerprint), the endpoint is resumed here (``endpoint_resume`` event, ``by`` this worker) and
    None is returned."""
    pause = ledger.paused_endpoints().get(endpoint)
    if pause is None:
        return None
    if not fingerprint_matches(pause.fingerprint, config, endpoint):
        if ledger.resume_endpoint(endpoint, by=worker, reason="the credential was replaced") is not None:
            log.warning("endpoint %s resumed: its credential was replaced since it was paused", endpoint)
        return None
    return pause


__all__ = ["credential_fingerprint", "current_pause", "endpoint_secrets", "fingerprint_matches"]
