"""The emulator behaves as Oracle's NetSuite Help says NetSuite does. These tests speak raw HTTP and
SOAP (requests, oauthlib, lxml), not through erpbridge's connectors, so that the emulator is checked
on its own. Pages cited are in NetSuite Help (docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from lxml import etree
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client

from .conftest import (
    ACCOUNT,
    CERTIFICATE_ID,
    CLIENT_ID,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    RSA_KEY,
    TOKEN_ID,
    TOKEN_SECRET,
    make_emulator,
)
from .emulator import NetSuiteEmulator
from .emulator.auth import base_string, hmac_sha256

SO = "/services/rest/record/v1/salesOrder"


def signed(
    method: str,
    url: str,
    *,
    method_name: str = SIGNATURE_HMAC_SHA256,
    nonce: str | None = None,
    timestamp: str | None = None,
    **kwargs: Any,
) -> requests.Response:
    client = Client(
        CONSUMER_KEY,
        client_secret=CONSUMER_SECRET,
        resource_owner_key=TOKEN_ID,
        resource_owner_secret=TOKEN_SECRET,
        signature_method=method_name,
        realm=ACCOUNT,
        nonce=nonce,
        timestamp=timestamp,
    )
    _, headers, _ = client.sign(url, method)
    return requests.request(
        method, url, headers={**headers, **kwargs.pop("headers", {})}, timeout=10, **kwargs
    )


def order_body(**extra: Any) -> dict[str, Any]:
    return {"entity": {"id": "1187"}, "item": {"items": [{"item": {"id": "501"}, "quantity": 3}]}, **extra}


def test_the_emulator_signs_oracles_rest_example_as_oracle_does() -> None:
    # "The Signature for Web Services and RESTlets": REST web services example, HMAC-SHA256
    oauth = {
        "oauth_consumer_key": "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
        "oauth_token": "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": "1508242306",
        "oauth_nonce": "fjaLirsIcCGVZWzBX0pg",
        "oauth_version": "1.0",
        "realm": "123456",
    }
    base = base_string(
        "GET", "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40", oauth
    )
    key = (
        "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5&"
        "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295"
    )
    assert hmac_sha256(key, base) == "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="


def test_a_bad_signature_gets_netsuites_401_body(emulator: NetSuiteEmulator) -> None:
    # "Error Handling in REST Web Services": status, o:errorDetails with detail and o:errorCode
    answer = requests.get(
        emulator.url + SO + "/1",
        headers={
            "Authorization": f'OAuth realm="{ACCOUNT}", oauth_consumer_key="{CONSUMER_KEY}", oauth_signature="x"'
        },
        timeout=10,
    )
    body = answer.json()
    assert answer.status_code == 401 and body["status"] == 401 and body["title"] == "Unauthorized"
    (detail,) = body["o:errorDetails"]
    assert detail["o:errorCode"] == "INVALID_LOGIN" and detail["detail"].startswith("Invalid login attempt.")


def test_hmac_sha1_and_a_reused_nonce_are_refused(emulator: NetSuiteEmulator) -> None:
    # "The Signature for Web Services and RESTlets": support for HMAC-SHA1 ended with 2023.1
    assert signed("GET", emulator.url + SO + "/eid:x", method_name=SIGNATURE_HMAC_SHA1).status_code == 401
    # the same nonce with the same timestamp (both pinned: two signatures a second apart would
    # carry two timestamps, and a nonce is unique per timestamp)
    now = str(int(time.time()))
    nonce = "n0nceAbCdEf" + now
    assert signed("GET", emulator.url + SO + "/eid:x", nonce=nonce, timestamp=now).status_code == 404
    assert signed("GET", emulator.url + SO + "/eid:x", nonce=nonce, timestamp=now).status_code == 401


def test_put_with_an_external_id_upserts(emulator: NetSuiteEmulator) -> None:
    # "Using the Upsert Operation": PUT .../eid:<id> adds the record, or updates it when it exists
    first = signed("PUT", emulator.url + SO + "/eid:SO-1", json=order_body(memo="one"))
    second = signed("PUT", emulator.url + SO + "/eid:SO-1", json=order_body(memo="two"))
    assert first.status_code == second.status_code == 204
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Location"].startswith(emulator.url + SO + "/")
    read = signed("GET", emulator.url + SO + "/eid:SO-1").json()
    assert read["memo"] == "two" and read["externalId"] == "SO-1" and read["status"]["id"] == "A"
    missing = signed("GET", emulator.url + SO + "/999999")
    assert (
        missing.status_code == 404 and missing.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
    )


def test_transform_makes_an_item_fulfillment(emulator: NetSuiteEmulator) -> None:
    # "Transforming Records": POST .../salesOrder/<id>/!transform/itemFulfillment answers 204 with Location
    made = signed("PUT", emulator.url + SO + "/eid:SO-2", json=order_body(orderStatus={"id": "B"}))
    order = made.headers["Location"].rsplit("/", 1)[-1]
    answer = signed(
        "POST", f"{emulator.url}{SO}/{order}/!transform/itemFulfillment", json={"shipStatus": {"id": "C"}}
    )
    assert answer.status_code == 204 and "/record/v1/itemFulfillment/" in answer.headers["Location"]
    pending_approval = signed("PUT", emulator.url + SO + "/eid:SO-3", json=order_body())
    other = pending_approval.headers["Location"].rsplit("/", 1)[-1]
    refused = signed("POST", f"{emulator.url}{SO}/{other}/!transform/itemFulfillment", json={})
    assert refused.status_code == 400  # an order pending approval cannot be fulfilled


def test_suiteql_needs_prefer_transient_and_pages(emulator: NetSuiteEmulator) -> None:
    # "Using SuiteQL with SuiteTalk REST Web Services" (Prefer: transient) and "Collection Paging"
    url = emulator.url + "/services/rest/query/v1/suiteql"
    query = {"q": "SELECT id, itemid FROM item ORDER BY id"}
    assert signed("POST", url + "?limit=2&offset=0", json=query).status_code == 400
    page = signed("POST", url + "?limit=2&offset=0", json=query, headers={"Prefer": "transient"}).json()
    assert (
        page["count"] == 2 and page["hasMore"] is True and page["offset"] == 0 and page["totalResults"] == 3
    )
    assert {link["rel"] for link in page["links"]} == {"first", "next", "last", "self"}
    assert page["items"][0] == {
        "links": [],
        "id": "501",
        "itemid": "NW-TS-BLK-S",
    }  # strings, lower-case names
    last = signed("POST", url + "?limit=2&offset=2", json=query, headers={"Prefer": "transient"}).json()
    assert last["count"] == 1 and last["hasMore"] is False
    bad = signed("POST", url, json={"q": "SELECT * FROM nosuchtable"}, headers={"Prefer": "transient"})
    assert bad.status_code == 400 and "Invalid search query" in bad.json()["o:errorDetails"][0]["detail"]


def test_past_the_concurrency_limit_rest_answers_429_and_soap_a_fault() -> None:
    # "Errors Related to Concurrency Violations"; REST web services answer HTTP 429
    emulator = make_emulator(concurrency_limit=0)
    try:
        answer = signed("GET", emulator.url + SO + "/1")
        assert answer.status_code == 429
        assert answer.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
        fault = requests.post(emulator.soap_url, data=b"<x/>", headers={"SOAPAction": "get"}, timeout=10)
        code = etree.fromstring(fault.content).find(".//{*}exceededConcurrentRequestLimitFault/{*}code")
        assert fault.status_code == 500 and code is not None and code.text == "WS_REQUEST_BLOCKED"
    finally:
        emulator.stop()


def test_a_bad_token_passport_is_an_invalid_credentials_fault(emulator: NetSuiteEmulator) -> None:
    # "TokenPassport Complex Type": the signature is checked; NetSuite answers INVALID_LOGIN_ATTEMPT
    envelope = f"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:msgs="urn:messages_2024_1.platform.webservices.netsuite.com"
      xmlns:core="urn:core_2024_1.platform.webservices.netsuite.com"><soapenv:Header><msgs:tokenPassport>
      <core:account>{ACCOUNT}</core:account><core:consumerKey>{CONSUMER_KEY}</core:consumerKey>
      <core:token>{TOKEN_ID}</core:token><core:nonce>abcdef123456</core:nonce><core:timestamp>{int(time.time())}</core:timestamp>
      <core:signature algorithm="HMAC-SHA256">bm90IGEgc2lnbmF0dXJl</core:signature></msgs:tokenPassport></soapenv:Header>
      <soapenv:Body><msgs:get><msgs:baseRef type="salesOrder" externalId="x"/></msgs:get></soapenv:Body></soapenv:Envelope>"""
    answer = requests.post(
        emulator.soap_url, data=envelope.encode(), headers={"SOAPAction": "get"}, timeout=10
    )
    tree = etree.fromstring(answer.content)
    assert answer.status_code == 500 and tree.findtext(".//faultstring") == "Invalid login attempt."
    assert tree.findtext(".//{*}invalidCredentialsFault/{*}code") == "INVALID_LOGIN_ATTEMPT"


def token_request(emulator: NetSuiteEmulator, **claims: Any) -> requests.Response:
    now = int(time.time())
    payload = {
        "iss": CLIENT_ID,
        "scope": ["rest_webservices"],
        "aud": emulator.url + "/services/rest/auth/oauth2/v1/token",
        "iat": now,
        "exp": now + 1800,
        **claims,
    }
    assertion = jwt.encode(payload, RSA_KEY, algorithm="PS256", headers={"kid": CERTIFICATE_ID, "typ": "JWT"})
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    return requests.post(emulator.url + "/services/rest/auth/oauth2/v1/token", data=form, timeout=10)


def test_the_token_endpoint_checks_the_jwt_as_the_request_token_structure_says(
    emulator: NetSuiteEmulator,
) -> None:
    # "The Request Token Structure": aud is the token endpoint; exp at most 60 minutes after iat
    good = token_request(emulator)
    assert (
        good.status_code == 200
        and good.json()["token_type"] == "Bearer"
        and good.json()["expires_in"] == 3600
    )
    bearer = {"Authorization": "Bearer " + good.json()["access_token"]}
    assert requests.get(emulator.url + SO + "/eid:none", headers=bearer, timeout=10).status_code == 404
    assert token_request(emulator, exp=int(time.time()) + 7200).status_code == 400
    assert token_request(emulator, aud="https://elsewhere/token").status_code == 401
    assert token_request(emulator, iss="another-client").status_code == 401
    assert token_request(emulator, scope=["restlets"]).status_code == 400


@pytest.mark.parametrize(
    "sql", ["DELETE FROM item", "SELECT 1; SELECT 2", "SELECT id FROM item WHERE ROWNUM < 3"]
)
def test_suiteql_outside_the_supported_subset_is_refused(emulator: NetSuiteEmulator, sql: str) -> None:
    answer = signed(
        "POST",
        emulator.url + "/services/rest/query/v1/suiteql",
        json={"q": sql},
        headers={"Prefer": "transient"},
    )
    assert (
        answer.status_code == 400 and answer.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    )


def test_suiteql_reads_the_item_masters_fields_and_custom_item_fields(emulator: NetSuiteEmulator) -> None:
    # Records Browser, item: weight, weightunit (the Weight Unit list: 1 lb, 2 oz, 3 kg, 4 g),
    # countryofmanufacture, manufacturertariff (HS Tariff Number); custom fields are custitem_*
    emulator.set_item(501, weight=0.45, weightunit=1, manufacturertariff="6109.10.0012", custitem_length=30.5)
    url = emulator.url + "/services/rest/query/v1/suiteql?limit=10&offset=0"
    query = {
        "q": "SELECT itemid, weight, weightunit, manufacturertariff, custitem_length FROM item ORDER BY id"
    }
    rows = signed("POST", url, json=query, headers={"Prefer": "transient"}).json()["items"]
    assert rows[0] == {"links": [], "itemid": "NW-TS-BLK-S", "weight": "0.45", "weightunit": "1",
                       "manufacturertariff": "6109.10.0012", "custitem_length": "30.5"}  # fmt: skip
    assert rows[1] == {"links": [], "itemid": "NW-SK-WHT-3P"}  # empty fields left out
    bad = signed("POST", url, json={"q": "SELECT custitem_nope FROM item"}, headers={"Prefer": "transient"})
    assert bad.status_code == 400 and "Invalid search query" in bad.json()["o:errorDetails"][0]["detail"]
    with pytest.raises(ValueError, match="no field"):
        emulator.set_item(501, length=3)  # not a field of the item record, nor a custom field
