"""Endpoints paused because they refused erpbridge's credentials (an expired or revoked token).

When a connector raises :class:`~erpbridge.errors.AuthenticationError` (NetSuite's HTTP 401
INVALID_LOGIN, SAP's 401, a refused OAuth client), the runner pauses that endpoint instead of
quarantining the document: the pause is kept in the ledger (:meth:`Ledger.pause_endpoint`, so every
process and a restart see it), the document stays in its work state (not failed, no attempt
spent) and every later document for that endpoint waits behind it, without a request being sent:
a revoked token tried on every poll would only fill NetSuite's Login Audit Trail (and can lock the
user out). The pause appends an ``endpoint_pause`` event, which the notification job sends.

The endpoint resumes by itself when its credential is replaced: the pause records a
**fingerprint** of the credential's values (:func:`credential_fingerprint`: a truncated SHA-256,
never the values), and a runner that finds a different fingerprint now resumes the endpoint and
delivers what waited. An operator resumes it with ``erpbridge endpoint resume NAME`` (after fixing
what a new secret does not fix: a role's permission, a certificate mapping).
"""

from __future__ import annotations

import hashlib
import logging
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


def credential_fingerprint(config: Config, endpoint: str) -> str:
    """A hash of what the endpoint logs in with now: its secrets' values and the rest of its ``auth``
    (a certificate ID, a user). 16 hex digits of SHA-256: enough to see that a credential changed,
    too little to test a guessed secret against. A secret that cannot be read counts as its name."""
    h = hashlib.sha256(_DOMAIN)
    ep = config.endpoints.get(endpoint)
    h.update(repr(getattr(ep, "auth", None)).encode() + b"\x00")  # references and plain settings only
    for key, ref in endpoint_secrets(config, endpoint):
        try:
            value = ref.credential().reveal()
        except ConfigError:
            value = f"\x00unreadable {ref.name}"
        h.update(key.encode() + b"\x00" + value.encode() + b"\x00")
    return h.hexdigest()[:16]


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def current_pause(ledger: Ledger, config: Config, endpoint: str, *, worker: str) -> EndpointPause | None:
    """The endpoint's pause if it is still paused; when its credential was replaced since (another
    fingerprint), the endpoint is resumed here (``endpoint_resume`` event, ``by`` this worker) and
    None is returned."""
    pause = ledger.paused_endpoints().get(endpoint)
    if pause is None:
        return None
    if pause.fingerprint != credential_fingerprint(config, endpoint):
        if ledger.resume_endpoint(endpoint, by=worker, reason="the credential was replaced") is not None:
            log.warning("endpoint %s resumed: its credential was replaced since it was paused", endpoint)
        return None
    return pause


__all__ = ["credential_fingerprint", "current_pause", "endpoint_secrets"]
