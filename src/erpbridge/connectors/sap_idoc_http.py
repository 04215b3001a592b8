"""SAP's IDoc XML HTTP inbound service (``/sap/bc/idoc_xml``): one POST per IDoc file, with requests.

This is the only place the IDoc connector (:mod:`erpbridge.connectors.sap_idoc`) speaks HTTP; it is
kept apart so that ``requests`` stays in the SAP HTTP modules (an import-linter contract).

SAP's answers become erpbridge's errors here:

=======================================  ===================================================
timeout, connection refused or dropped   :class:`~erpbridge.errors.TransportError` (transient)
HTTP 5xx, 429                            :class:`~erpbridge.errors.RemoteUnavailableError`
                                         (transient; ``retry_after`` from Retry-After)
HTTP 401, 403, a redirect (to a logon    :class:`~erpbridge.errors.AuthenticationError`
page), a TLS certificate refused
other HTTP 4xx                           :class:`~erpbridge.errors.RemoteRejectedError`
=======================================  ===================================================

The password is read from its :class:`~erpbridge.transports.base.Credential` for each request and
never logged nor put in a message.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import (
    AuthenticationError,
    ErpBridgeError,
    RemoteRejectedError,
    RemoteUnavailableError,
    TransportError,
)
from ..observability.signals import set_rate_limit_headroom
from ..transports.base import Credential
from ._http import rate_limit_headroom, retry_after_seconds

log = logging.getLogger(__name__)

#: What erpbridge sends: IDoc XML as an SAP XML-HTTP port sends it (text/xml), in UTF-8.
CONTENT_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class IdocHttpSettings:
    """Where and how to POST IDoc XML. Timeouts are in seconds."""

    url: str  # https://host:port/sap/bc/idoc_xml
    user: str
    password: Credential
    name: str = "sap"
    client: str | None = None  # sap-client
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    verify: bool | str = True


def _said(response: requests.Response) -> str:
    """SAP's own words from an error page, shortened: the text of its body without markup."""
    text = re.sub(r"<[^>]+>", " ", response.text or "")
    text = " ".join(text.split())
    return text[:300] + ("..." if len(text) > 300 else "")


class IdocHttpPort:
    """POSTs IDoc XML to SAP, one request per file; keeps one HTTP session (SAP's cookies)."""

    def __init__(self, settings: IdocHttpSettings) -> None:
        self.settings = settings
        self._session: requests.Session | None = None

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def post(self, data: bytes, **context: Any) -> str:
        """Send one IDoc file; returns a short description of SAP's answer (``HTTP 200``).
        ``context`` (DOCNUM, partner, key) goes into every error."""
        settings = self.settings
        if self._session is None:
            self._session = requests.Session()
            self._session.verify = settings.verify
            self._session.headers["User-Agent"] = "erpbridge"
        params = {"sap-client": settings.client} if settings.client else None
        where: dict[str, Any] = {"endpoint": settings.name, **context}
        path = urlsplit(settings.url).path
        started = time.monotonic()
        try:
            response = self._session.post(
                settings.url,
                params=params,
                data=data,
                headers={"Content-Type": CONTENT_TYPE},
                auth=(settings.user, settings.password.reveal()),
                timeout=(settings.connect_timeout, settings.read_timeout),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            self.close()
            raise AuthenticationError(
                f"the TLS certificate of {urlsplit(settings.url).hostname} cannot be verified "
                f"({type(exc).__name__}): set verify to the CA bundle that signs it",
                **where,
            ) from None
        except requests.Timeout:
            self.close()
            raise TransportError(
                f"SAP did not answer the IDoc POST to {path} within the timeouts "
                f"(connect {settings.connect_timeout:g} s, read {settings.read_timeout:g} s); "
                "SAP may have taken it: the retry sends the same DOCNUM",
                **where,
            ) from None
        except requests.ConnectionError as exc:
            self.close()
            raise TransportError(
                f"cannot reach SAP at {urlsplit(settings.url).netloc}: {type(exc).__name__}", **where
            ) from None
        except requests.RequestException as exc:
            self.close()
            raise TransportError(f"the IDoc POST to SAP failed: {type(exc).__name__}", **where) from None
        status = response.status_code
        log.debug("SAP POST %s -> %d in %.0f ms", path, status, (time.monotonic() - started) * 1000)
        headroom = rate_limit_headroom(status, response.headers)
        if headroom is not None:
            set_rate_limit_headroom(settings.name, headroom)
        if status < 300:
            return f"HTTP {status}"
        raise self._error(response, where)

    def _error(self, response: requests.Response, where: dict[str, Any]) -> ErpBridgeError:
        status = response.status_code
        said = _said(response)
        path = urlsplit(self.settings.url).path
        if 300 <= status < 400:
            return AuthenticationError(
                f"SAP answered the IDoc POST to {path} with a redirect (HTTP {status}) to a logon page or "
                "another host: check the url and that the service takes basic authentication",
                status=status,
                **where,
            )
        if status == 401:
            return AuthenticationError(
                f"SAP refused the credentials of user {self.settings.user} ({self.settings.password.name}) "
                "(HTTP 401): check the user in SU01 and erpbridge's secret",
                **where,
            )
        if status == 403:
            return AuthenticationError(
                f"SAP refused the IDoc POST to {path} (HTTP 403): {said or 'no reason given'}: the user "
                "needs the authorization to post IDocs (docs/sap.md)",
                **where,
            )
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return RemoteUnavailableError(
                f"SAP could not take the IDoc now (HTTP {status}): {said or 'no reason given'}; erpbridge "
                "retries later" + (f" (SAP asked to wait {wait:g} s)" if wait is not None else ""),
                status=status,
                remote_message=said or None,
                retry_after=wait,
                **where,
            )
        return RemoteRejectedError(
            f"SAP refused the IDoc (HTTP {status}): {said or 'no reason given'}",
            status=status,
            remote_message=said or None,
            **where,
        )


__all__ = ["CONTENT_TYPE", "IdocHttpPort", "IdocHttpSettings"]
