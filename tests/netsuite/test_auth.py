"""NetSuite authentication against Oracle's own worked examples (fixed inputs, published outputs).

Sources (NetSuite Help, docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/):

- "The Signature for Web Services and RESTlets" (section_1534941088.html) and "The Authorization
  Headers" (section_1534941295.html): the REST web services example (GET .../record/v1/employee/40,
  realm 123456) and the RESTlet example (POST restlet.nl with four query parameters), signed
  HMAC-SHA256.
- "TokenPassport Complex Type" (section_4395630653.html) for the tokenPassport algorithm; its worked
  values (account 1234567, nonce 6obMKq0tmY8ylVOdEkA1, timestamp 1439829974) are those Oracle also
  publishes, with the resulting HMAC-SHA256 signature, in "Creating the Token Password"
  (article_163240164565.html).

The help pages as our search tool stores them show only their openings; the published signatures
below were read from public test code that quotes these pages, and each one also checks against a
plain hmac computation here (so the vector is the page's, not our code's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import pytest

from erpbridge.connectors.netsuite_auth import (
    ClientCredentialsAuth,
    TokenAuth,
    client_assertion,
    passport_signature,
    tba_authorization,
    token_passport,
)
from erpbridge.connectors.netsuite_common import external_id, host_label, realm, rest_url
from erpbridge.errors import ConfigError
from erpbridge.transports.base import Credential

from .conftest import CERTIFICATE_ID, CLIENT_ID, EC_KEY, EC_PEM, RSA_KEY, RSA_PEM, m2m

# "The Signature for Web Services and RESTlets": input parameters of the example
ORACLE_REST = TokenAuth(
    consumer_key=Credential("ck", "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4"),
    consumer_secret=Credential("cs", "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5"),
    token_id=Credential("tk", "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc"),
    token_secret=Credential("ts", "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295"),
)
NONCE, TIMESTAMP = "fjaLirsIcCGVZWzBX0pg", "1508242306"


def _params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return dict(p.strip().split("=", 1) for p in header[6:].split(","))


def test_rest_web_services_header_is_oracles_example() -> None:
    header = tba_authorization(
        ORACLE_REST,
        account="123456",
        method="GET",
        url="https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40",
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    params = _params(header)
    # "REST Web Services Header Example" in "The Authorization Headers"
    assert params == {
        "realm": '"123456"',
        "oauth_token": '"2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc"',
        "oauth_consumer_key": '"ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4"',
        "oauth_nonce": '"fjaLirsIcCGVZWzBX0pg"',
        "oauth_timestamp": '"1508242306"',
        "oauth_signature_method": '"HMAC-SHA256"',
        "oauth_version": '"1.0"',
        "oauth_signature": '"B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D"',
    }
    # the page's base string, signed by hand, gives the same signature
    base = (
        "GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Femployee%2F40&"
        "oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26oauth_nonce%3D"
        "fjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26oauth_token"
        "%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0"
    )
    key = (
        "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5&"
        "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295"
    )
    by_hand = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()).decode()
    assert by_hand == "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="


def test_restlet_example_signs_the_query_parameters() -> None:
    header = tba_authorization(
        ORACLE_REST,
        account="123456",
        method="POST",
        url="https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
        "?script=6&deploy=1&customParam=someValue&testParam=someOtherValue",
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    assert _params(header)["oauth_signature"] == '"%2BKK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ%3D"'
    assert "oauth_body_hash" not in header  # NetSuite signs no JSON body


def test_a_changed_secret_url_or_method_changes_the_signature() -> None:
    url = "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40"

    def sig(auth: TokenAuth = ORACLE_REST, method: str = "GET", where: str = url) -> str:
        header = tba_authorization(
            auth, account="123456", method=method, url=where, nonce=NONCE, timestamp=TIMESTAMP
        )
        return _params(header)["oauth_signature"]

    other = TokenAuth(
        consumer_key=ORACLE_REST.consumer_key,
        consumer_secret=ORACLE_REST.consumer_secret,
        token_id=ORACLE_REST.token_id,
        token_secret=Credential("ts2", "x"),
    )
    assert len({sig(), sig(other), sig(method="PUT"), sig(where=url + "1")}) == 4


def test_token_passport_signature_is_oracles_example() -> None:
    signature = passport_signature(
        account="1234567",
        consumer_key="71cc02b731f05895561ef0862d71553a3ac99498a947c3b7beaf4a1e4a29f7c4",
        token="89e08d9767c5ac85b374415725567d05b54ecf0960ad2470894a52f741020d82",
        nonce="6obMKq0tmY8ylVOdEkA1",
        timestamp=1439829974,
        consumer_secret="7278da58caf07f5c336301a601203d10a58e948efa280f0618e25fcee1ef2abd",
        token_secret="060cd9ab3ffbbe1e3d3918e90165ffd37ab12acc76b4691046e2d29c7d7674c2",
    )
    assert signature == "FCghIZqXNetuZY8ILWOFH0ucdfzQOmAuL+q+kF21zPs="


def test_token_passport_uses_the_realm_form_of_a_sandbox_account_and_a_fresh_nonce() -> None:
    first = token_passport(ORACLE_REST, account="1234567-sb1")
    second = token_passport(ORACLE_REST, account="1234567-sb1")
    assert first.account == "1234567_SB1" and first.algorithm == "HMAC-SHA256"
    assert first.nonce != second.nonce and 6 <= len(first.nonce) <= 64 and first.nonce.isalnum()
    assert abs(first.timestamp - time.time()) < 60
    assert "c29a677d" not in repr(first) and first.signature not in repr(first)


@pytest.mark.parametrize(
    ("given", "as_realm", "as_host"),
    [
        ("1234567", "1234567", "1234567"),
        ("1234567_SB1", "1234567_SB1", "1234567-sb1"),
        ("1234567-sb1", "1234567_SB1", "1234567-sb1"),
        ("tstdrv9", "TSTDRV9", "tstdrv9"),
    ],
)
def test_account_ids_as_realm_and_host(given: str, as_realm: str, as_host: str) -> None:
    assert realm(given) == as_realm
    assert host_label(given) == as_host
    assert rest_url(given) == f"https://{as_host}.suitetalk.api.netsuite.com"


@pytest.mark.parametrize("bad", ["", "12 34", "1234567/SB1", "a_b_c"])
def test_a_malformed_account_id_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="account ID"):
        realm(bad)


def test_external_ids_are_stable_safe_and_never_shared_by_long_keys() -> None:
    assert external_id("PurchaseOrder-MEGAMART-000001011-0001") == "PurchaseOrder-MEGAMART-000001011-0001"
    assert external_id("a b/c") == external_id("a b/c") != external_id("a_b_c")
    long_a, long_b = "x" * 150 + "a", "x" * 150 + "b"
    assert len(external_id(long_a)) <= 100 and external_id(long_a) != external_id(long_b)


@pytest.mark.parametrize(
    ("key", "public", "algorithm", "kid"),
    [(RSA_PEM, RSA_KEY, "PS256", CERTIFICATE_ID), (EC_PEM, EC_KEY, "ES256", "cert-ec")],
)
def test_client_assertion_has_the_claims_netsuite_asks_for(
    key: str, public: object, algorithm: str, kid: str
) -> None:
    audience = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    token = client_assertion(m2m(key=key, algorithm=algorithm, certificate_id=kid), audience=audience)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": kid}
    claims = jwt.decode(token, public.public_key(), algorithms=[algorithm], audience=audience)  # type: ignore[attr-defined]
    assert claims["iss"] == CLIENT_ID and claims["scope"] == ["rest_webservices"]
    assert 0 < claims["exp"] - claims["iat"] <= 3600


def test_a_key_that_does_not_fit_the_algorithm_is_named_not_shown() -> None:
    with pytest.raises(ConfigError) as info:
        client_assertion(m2m(key=EC_PEM, algorithm="PS256"), audience="https://x/token")
    assert "file:/run/secrets/netsuite.pem" in str(info.value) and "BEGIN" not in str(info.value)
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        client_assertion(m2m(key="not a key"), audience="https://x/token")
    with pytest.raises(ConfigError, match="PS256"):
        ClientCredentialsAuth(
            client_id=Credential("c", "c"),
            certificate_id="k",
            private_key=Credential("k", RSA_PEM),
            algorithm="RS256",
        )
