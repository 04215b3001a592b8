"""NetSuite's authentication: token-based authentication (TBA, OAuth 1.0a with HMAC-SHA256) for REST,
the SOAP ``tokenPassport``, and OAuth 2.0 client credentials (machine to machine: a JWT signed with
the certificate's private key). oauthlib, PyJWT and cryptography are imported only in this module
(an import-linter contract); their errors become :class:`~erpbridge.errors.ConfigError` naming the
credential, never showing it.

- **TBA for REST**: :func:`tba_authorization` signs a request with oauthlib: HMAC-SHA256 over
  RFC 5849's base string (method, URL without its query, every query and ``oauth_*`` parameter,
  sorted and percent-encoded), keyed with ``consumer secret & token secret``; ``realm`` is the
  account ID (``1234567_SB1`` for a sandbox). The JSON body is not signed (NetSuite signs only
  form-encoded bodies), so no ``oauth_body_hash`` is sent.
- **tokenPassport for SOAP**: :func:`token_passport`: ``base64(HMAC-SHA256(key = consumer secret &
  token secret, message = account & consumer key & token & nonce & timestamp))``, NetSuite Help
  "TokenPassport Complex Type".
- **OAuth 2.0 client credentials**: :func:`client_assertion` makes the JWT NetSuite's token endpoint
  takes ("The Request Token Structure", NetSuite Help): header ``typ`` JWT, ``alg`` PS256 (RSA) or
  ES256 (EC), ``kid`` the certificate ID from *OAuth 2.0 Client Credentials (M2M) Setup*; payload
  ``iss`` the integration's client ID, ``scope`` (``rest_webservices``...), ``aud`` the token
  endpoint, ``iat`` and ``exp`` (at most an hour later). The HTTP exchange is the REST connector's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from oauthlib.oauth1 import Client as _OAuth1Client

from ..errors import ConfigError
from ..transports.base import Credential
from .netsuite_common import realm as account_realm

SIGNATURE_METHOD: Final = "HMAC-SHA256"
JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH: Final = "/services/rest/auth/oauth2/v1/token"
SCOPES: Final = frozenset({"restlets", "rest_webservices", "suite_analytics"})
ALGORITHMS: Final = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_NONCE_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, kw_only=True)
class TokenAuth:
    """Token-based authentication: the integration record's consumer key and secret, and an access
    token (token ID and secret) of the user and role erpbridge works as. All four are secret
    references; messages show their names only."""

    consumer_key: Credential
    consumer_secret: Credential
    token_id: Credential
    token_secret: Credential

    def names(self) -> str:
        return f"consumer key {self.consumer_key.name}, token {self.token_id.name}"


@dataclass(frozen=True, kw_only=True)
class ClientCredentialsAuth:
    """OAuth 2.0 client credentials (M2M): the integration record's client ID, the certificate ID
    NetSuite showed when the certificate was uploaded, and the certificate's private key (PEM, a
    secret reference). ``algorithm`` is PS256 for an RSA key, ES256 for an EC P-256 key.
    ``token_url`` defaults to the account's ``/services/rest/auth/oauth2/v1/token``."""

    client_id: Credential
    certificate_id: str
    private_key: Credential
    algorithm: str = "PS256"
    scopes: tuple[str, ...] = ("rest_webservices",)
    token_url: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(
                f"NetSuite M2M signs with {', '.join(ALGORITHMS)}, not {self.algorithm!r} "
                "(PS256 for an RSA key, ES256 for an EC P-256 key)"
            )
        unknown = sorted(set(self.scopes) - SCOPES)
        if not self.scopes or unknown:
            raise ConfigError(
                f"NetSuite M2M scopes are {', '.join(sorted(SCOPES))}; not {', '.join(unknown) or 'none'}"
            )
        if not self.certificate_id.strip():
            raise ConfigError("NetSuite M2M needs the certificate ID (OAuth 2.0 Client Credentials Setup)")

    def names(self) -> str:
        return (
            f"client ID {self.client_id.name}, certificate {self.certificate_id}, key {self.private_key.name}"
        )


class _NoSigningInLogs(logging.Filter):
    """oauthlib logs the parameters, base string and signature of every request it signs at DEBUG
    (the consumer key and the token among them): those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("oauthlib", "oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _NoSigningInLogs) for f in _logger.filters):
        _logger.addFilter(_NoSigningInLogs())


# -- TBA: OAuth 1.0a for REST ---------------------------------------------------------------------


def tba_authorization(
    auth: TokenAuth,
    *,
    account: str,
    method: str,
    url: str,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> str:
    """The ``Authorization`` header of one REST request, signed HMAC-SHA256 with oauthlib. ``url`` is
    the whole URL the request goes to, query included. ``nonce`` and ``timestamp`` are fixed only in
    tests (Oracle's worked examples)."""
    client = _OAuth1Client(
        auth.consumer_key.reveal(),
        client_secret=auth.consumer_secret.reveal(),
        resource_owner_key=auth.token_id.reveal(),
        resource_owner_secret=auth.token_secret.reveal(),
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=account_realm(account),
        nonce=nonce or new_nonce(),
        timestamp=timestamp or str(int(time.time())),
    )
    try:
        _, headers, _ = client.sign(url, method.upper())
    except ValueError as exc:  # oauthlib refuses an unusable URL or method
        raise ConfigError(
            f"cannot sign {method.upper()} {url.split('?')[0]} for NetSuite: {exc.__class__.__name__}"
        ) from None
    return str(headers["Authorization"])


# -- tokenPassport: SOAP ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPassport:
    """The values of a SOAP ``tokenPassport`` header (``signature`` is derived, not a secret, but
    is not logged either)."""

    account: str
    consumer_key: str
    token: str
    nonce: str
    timestamp: int
    signature: str
    algorithm: str = SIGNATURE_METHOD

    def __repr__(self) -> str:
        return f"TokenPassport(account={self.account!r}, nonce={self.nonce!r}, timestamp={self.timestamp})"


def passport_signature(
    *,
    account: str,
    consumer_key: str,
    token: str,
    nonce: str,
    timestamp: int | str,
    consumer_secret: str,
    token_secret: str,
) -> str:
    """``base64(HMAC-SHA256(consumer_secret&token_secret, account&consumer_key&token&nonce&timestamp))``."""
    message = f"{account}&{consumer_key}&{token}&{nonce}&{timestamp}"
    key = f"{consumer_secret}&{token_secret}"
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def token_passport(
    auth: TokenAuth, *, account: str, nonce: str | None = None, timestamp: int | None = None
) -> TokenPassport:
    """A fresh tokenPassport for one SOAP request (a new nonce each time: NetSuite refuses a reused one)."""
    acct = account_realm(account)
    consumer_key, token = auth.consumer_key.reveal(), auth.token_id.reveal()
    nonce = nonce or new_nonce()
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = passport_signature(
        account=acct,
        consumer_key=consumer_key,
        token=token,
        nonce=nonce,
        timestamp=stamp,
        consumer_secret=auth.consumer_secret.reveal(),
        token_secret=auth.token_secret.reveal(),
    )
    return TokenPassport(acct, consumer_key, token, nonce, stamp, signature)


def new_nonce(length: int = 20) -> str:
    """A random alphanumeric nonce (NetSuite wants 6 to 64 characters)."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


# -- OAuth 2.0 client credentials (M2M) -----------------------------------------------------------------


def client_assertion(auth: ClientCredentialsAuth, *, audience: str, now: float | None = None) -> str:
    """The signed JWT to post to the token endpoint as ``client_assertion``; valid for 30 minutes."""
    issued = int(time.time() if now is None else now)
    key = _private_key(auth)
    claims = {
        "iss": auth.client_id.reveal(),
        "scope": list(auth.scopes),
        "aud": audience,
        "iat": issued,
        "exp": issued + 1800,
    }
    try:
        return jwt.encode(
            claims, key, algorithm=auth.algorithm, headers={"typ": "JWT", "kid": auth.certificate_id}
        )
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"cannot sign the NetSuite M2M assertion with {auth.private_key.name} ({auth.algorithm}): "
            f"{exc.__class__.__name__}",
            credential=auth.private_key.name,
        ) from None


def _private_key(auth: ClientCredentialsAuth) -> Any:
    pem = auth.private_key.reveal().encode()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"the NetSuite M2M private key {auth.private_key.name} is not an unencrypted PEM private key "
            f"({exc.__class__.__name__})",
            credential=auth.private_key.name,
        ) from None
    wants_rsa = auth.algorithm.startswith("PS")
    if wants_rsa and not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"{auth.algorithm} needs an RSA key, but {auth.private_key.name} is not one (use ES256 for EC keys)",
            credential=auth.private_key.name,
        )
    if not wants_rsa and not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(
            f"{auth.algorithm} needs an EC key, but {auth.private_key.name} is not one (use PS256 for RSA keys)",
            credential=auth.private_key.name,
        )
    return key


__all__ = [
    "ALGORITHMS",
    "JWT_BEARER",
    "SIGNATURE_METHOD",
    "TOKEN_PATH",
    "ClientCredentialsAuth",
    "TokenAuth",
    "TokenPassport",
    "client_assertion",
    "new_nonce",
    "passport_signature",
    "tba_authorization",
    "token_passport",
]
