"""How the emulator checks credentials, written from NetSuite Help independently of erpbridge's code
(and of oauthlib), so that a mistake in one is not repeated in the other.

- OAuth 1.0 (TBA) for REST: "The Signature for Web Services and RESTlets" and RFC 5849 section 3.4:
  the base string is METHOD & enc(scheme://host[:port]/path) & enc(sorted, encoded parameters), the
  parameters being the query's and the Authorization header's ``oauth_*`` ones (not ``realm``, not
  ``oauth_signature``); the key is enc(consumer secret) & enc(token secret); HMAC-SHA256, base64.
  HMAC-SHA1 is refused (its support ended in 2023.1). The realm must be the account ID, the
  timestamp within five minutes, the nonce not seen before.
- tokenPassport for SOAP: "TokenPassport Complex Type": HMAC-SHA256 of
  account&consumerKey&token&nonce&timestamp keyed with consumerSecret&tokenSecret.
- OAuth 2.0 client credentials: "The Request Token Structure": a JWT with ``kid`` (a certificate ID
  mapped to a public key), ``alg`` PS256/384/512 or ES256/384/512, ``iss`` the client ID, ``aud``
  the token endpoint, ``scope``, ``iat``, ``exp`` at most an hour after ``iat``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import jwt

MAX_SKEW = 300  # seconds a timestamp may be off
_HEADER_PARAM = re.compile(r'\s*([A-Za-z_]+)\s*=\s*"([^"]*)"\s*')


def enc(value: str) -> str:
    """RFC 5849 section 3.6 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="~-._")


def parse_oauth_header(header: str) -> dict[str, str] | None:
    if not header.startswith("OAuth "):
        return None
    out: dict[str, str] = {}
    for part in header[len("OAuth ") :].split(","):
        match = _HEADER_PARAM.fullmatch(part)
        if not match:
            return None
        out[match.group(1)] = unquote(match.group(2))
    return out


def base_string(method: str, url: str, oauth: dict[str, str]) -> str:
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{parts.path}"
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    params += [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in params))
    return "&".join((method.upper(), enc(base_uri), enc(normalized)))


def hmac_sha256(key: str, message: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


@dataclass
class Token:
    token_id: str
    secret: str
    revoked: bool = False


@dataclass
class Integration:
    """An integration record with TBA (consumer key and secret) and its access tokens, and with
    OAuth 2.0 client credentials (client ID and the certificates mapped to it)."""

    consumer_key: str
    consumer_secret: str
    tokens: dict[str, Token] = field(default_factory=dict)
    client_id: str | None = None
    certificates: dict[str, Any] = field(default_factory=dict)  # certificate ID -> public key


class AuthError(Exception):
    """A refused credential; ``code`` is NetSuite's error code, ``why`` says why (for the tests)."""

    def __init__(self, code: str, why: str) -> None:
        super().__init__(why)
        self.code, self.why = code, why


class Verifier:
    def __init__(self, account: str, integration: Integration, *, clock: Any = time.time) -> None:
        self.account = account  # realm form: 1234567_SB1
        self.integration = integration
        self.clock = clock
        self.nonces: set[tuple[str, str]] = set()
        self.bearers: dict[str, float] = {}  # access token -> expiry

    def _fresh(self, nonce: str, timestamp: str) -> None:
        try:
            stamp = int(timestamp)
        except ValueError:
            raise AuthError("INVALID_LOGIN", "timestamp is not a number") from None
        if abs(self.clock() - stamp) > MAX_SKEW:
            raise AuthError("INVALID_LOGIN", "timestamp too far from now")
        if not 6 <= len(nonce) <= 64 or not nonce.isalnum():
            raise AuthError("INVALID_LOGIN", "nonce is not 6-64 alphanumeric characters")
        if (nonce, timestamp) in self.nonces:
            raise AuthError("INVALID_LOGIN", "nonce used before")
        self.nonces.add((nonce, timestamp))

    def _token(self, token_id: str) -> Token:
        token = self.integration.tokens.get(token_id)
        if token is None:
            raise AuthError("INVALID_LOGIN", "unknown token")
        if token.revoked:
            raise AuthError("INVALID_LOGIN", "token revoked")
        return token

    def check_oauth1(self, method: str, url: str, header: str) -> None:
        oauth = parse_oauth_header(header)
        if oauth is None:
            raise AuthError("INVALID_LOGIN", "not an OAuth header")
        if oauth.get("realm") != self.account:
            raise AuthError("INVALID_LOGIN", f"realm {oauth.get('realm')!r} is not the account")
        if oauth.get("oauth_signature_method") != "HMAC-SHA256":
            raise AuthError("INVALID_LOGIN", "signature method is not HMAC-SHA256")
        if oauth.get("oauth_version", "1.0") != "1.0":
            raise AuthError("INVALID_LOGIN", "oauth_version is not 1.0")
        if oauth.get("oauth_consumer_key") != self.integration.consumer_key:
            raise AuthError("INVALID_LOGIN", "unknown consumer key")
        token = self._token(oauth.get("oauth_token", ""))
        key = f"{enc(self.integration.consumer_secret)}&{enc(token.secret)}"
        expected = hmac_sha256(key, base_string(method, url, oauth))
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            raise AuthError("INVALID_LOGIN", "signature does not verify")
        self._fresh(oauth.get("oauth_nonce", ""), oauth.get("oauth_timestamp", ""))

    def check_passport(self, passport: dict[str, str]) -> None:
        for name in ("account", "consumerKey", "token", "nonce", "timestamp", "signature"):
            if not passport.get(name):
                raise AuthError("INVALID_LOGIN_ATTEMPT", f"tokenPassport has no {name}")
        if passport["account"] != self.account:
            raise AuthError("INVALID_LOGIN_ATTEMPT", "account is not this account")
        if passport.get("algorithm") != "HMAC-SHA256":
            raise AuthError("INVALID_LOGIN_ATTEMPT", "signature algorithm is not HMAC-SHA256")
        if passport["consumerKey"] != self.integration.consumer_key:
            raise AuthError("INVALID_LOGIN_ATTEMPT", "unknown consumer key")
        try:
            token = self._token(passport["token"])
        except AuthError as exc:
            raise AuthError("INVALID_LOGIN_ATTEMPT", exc.why) from None
        message = "&".join(passport[k] for k in ("account", "consumerKey", "token", "nonce", "timestamp"))
        expected = hmac_sha256(f"{self.integration.consumer_secret}&{token.secret}", message)
        if not hmac.compare_digest(expected, passport["signature"]):
            raise AuthError("INVALID_LOGIN_ATTEMPT", "signature does not verify")
        try:
            self._fresh(passport["nonce"], passport["timestamp"])
        except AuthError as exc:
            raise AuthError("INVALID_LOGIN_ATTEMPT", exc.why) from None

    def issue_bearer(self, form: dict[str, str], token_url: str) -> tuple[str, int]:
        """Checks a client-credentials request and returns (access token, lifetime)."""
        if form.get("grant_type") != "client_credentials":
            raise AuthError("unsupported_grant_type", "grant_type is not client_credentials")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise AuthError("invalid_request", "client_assertion_type is not jwt-bearer")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AuthError("invalid_request", "client_assertion is not a JWT") from None
        if header.get("typ") != "JWT":
            raise AuthError("invalid_request", "typ is not JWT")
        public = self.integration.certificates.get(str(header.get("kid")))
        if public is None:
            raise AuthError("invalid_client", "kid is not a mapped certificate")
        try:
            claims = jwt.decode(
                assertion,
                public,
                algorithms=["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"],
                audience=token_url,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError("invalid_client", f"JWT refused: {type(exc).__name__}") from None
        if claims["iss"] != self.integration.client_id:
            raise AuthError("invalid_client", "iss is not the client ID")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            raise AuthError("invalid_request", "exp is more than 60 minutes after iat")
        scopes = claims["scope"] if isinstance(claims["scope"], list) else str(claims["scope"]).split(",")
        if "rest_webservices" not in [str(s).strip() for s in scopes]:
            raise AuthError("invalid_scope", "scope lacks rest_webservices")
        token = base64.urlsafe_b64encode(hashlib.sha256(assertion.encode()).digest()).decode().rstrip("=")
        self.bearers[token] = self.clock() + 3600
        return token, 3600

    def check_bearer(self, header: str) -> None:
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        expiry = self.bearers.get(token)
        if expiry is None or expiry < self.clock():
            raise AuthError("INVALID_LOGIN", "unknown or expired bearer token")
