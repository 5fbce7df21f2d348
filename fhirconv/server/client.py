"""A small FHIR R4 REST client over httpx: JSON dicts in, JSON dicts out.

It knows FHIR's HTTP conventions and nothing of fhirconv's case model.  Every
failure leaves as one of the typed errors of :mod:`fhirconv.server.errors`;
httpx exceptions never escape.  The bearer token lives only in the httpx
client's default headers: it is not stored elsewhere, not logged, and is
struck out of any server text quoted in an error.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from fhirconv import __version__
from fhirconv.server.errors import (
    AuthorizationError,
    InsecureTransport,
    ResourceNotFound,
    ServerFailure,
    ServerRejected,
    ServerUnreachable,
)
from fhirconv.server.retry import RETRY_STATUSES, RetryPolicy

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
# Enough of a non-FHIR answer to recognise it (an HTML error page, a proxy's
# banner) without flooding the terminal.
SNIPPET_CHARS = 300
# A server whose `next` links go round in circles must not keep us forever.
MAX_PAGES = 10_000


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses, where plain http cannot be overheard."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_url(url: str) -> str:
    """The URL without any user:password part, fit for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def normalize_base(url: str) -> str:
    """Check a server base URL and give it exactly one trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureTransport(f"--server must be an http:// or https:// URL, not {url!r}")
    if parts.query or parts.fragment:
        raise InsecureTransport(f"--server must be the FHIR base URL without ?query or #fragment: {url!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))


class FhirClient:
    """One FHIR server base.  Use as a context manager so the connection pool is closed."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        allow_insecure_http: bool = False,
        notify: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base(base_url)
        parts = urlsplit(self.base_url)
        if (
            token
            and parts.scheme == "http"
            and not is_loopback(parts.hostname or "")
            and not allow_insecure_http
        ):
            raise InsecureTransport(
                f"Refusing to send the token over plain http to {parts.hostname}: anyone on the way could "
                "read it. Use an https:// server URL, or pass --allow-insecure-http if you accept that."
            )
        self._origin = (parts.scheme, parts.hostname, parts.port)
        self._token = token or None
        self.retry = retry or RetryPolicy()
        self._notify = notify
        headers = {"Accept": FHIR_JSON, "User-Agent": f"fhirconv/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            # A redirect could carry the Authorization header to another host.
            follow_redirects=False,
            # HTTP(S)_PROXY from the environment is right for a remote server, but a
            # proxy cannot reach this machine's loopback on our behalf.
            trust_env=not is_loopback(parts.hostname or ""),
            transport=transport,
        )

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the FHIR interactions fhirconv uses -------------------------------------------------

    def capabilities(self) -> dict[str, Any]:
        """``GET [base]/metadata``: the server's CapabilityStatement."""
        return self._expect_type(self.request("GET", "metadata"), "CapabilityStatement", "metadata")

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """``POST [base]`` a transaction Bundle; the transaction-response Bundle."""
        # Retrying after a lost answer repeats the whole transaction: harmless
        # when every entry is a PUT, GET or DELETE, a duplicate for a POST.
        idempotent = all(
            (entry.get("request") or {}).get("method") in ("PUT", "GET", "DELETE", "HEAD")
            for entry in bundle.get("entry") or []
        )
        answer = self.request("POST", "", body=bundle, idempotent=idempotent)
        return self._expect_type(answer, "Bundle", "transaction")

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/Type/id``."""
        return self._expect_type(
            self.request("GET", f"{resource_type}/{resource_id}"),
            resource_type,
            f"{resource_type}/{resource_id}",
        )

    def search(self, resource_type: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every resource a type search matches, across all pages."""
        yield from self.pages(resource_type, params)

    def pages(self, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The resources of a searchset (or $everything) Bundle, following ``next`` links."""
        url: str | None = path
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                return
            bundle = self._expect_type(self.request("GET", url, params=params), "Bundle", path)
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict):
                    yield resource
            url = self._next_link(bundle, path)
            params = None
            if url is not None:
                if url in seen:
                    raise ServerFailure(f"The server's `next` links for {path} go round in a circle at {url}")
                seen.add(url)
        raise ServerFailure(f"The search {path} did not end after {MAX_PAGES} pages")

    # -- HTTP ---------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """One FHIR interaction with retries; the decoded JSON answer, or a typed error."""
        target = url if "://" in url else self.base_url + url
        shown = display_url(target)
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": f"{FHIR_JSON}; charset=utf-8"} if content is not None else None
        attempts = self.retry.retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = self._http.request(method, target, params=params, content=content, headers=headers)
            except httpx.TimeoutException as err:
                # A connect timeout means nothing was sent; a read timeout may
                # mean the server acted, so only idempotent requests go again.
                if last or not (idempotent or isinstance(err, httpx.ConnectTimeout)):
                    raise ServerUnreachable(
                        f"{method} {shown} timed out ({_timeout_kind(err)}) after {attempt} "
                        f"attempt{'s' if attempt > 1 else ''}; the server may be down or slow (see --timeout)"
                    ) from None
                self._wait(attempt, attempts, f"timed out ({_timeout_kind(err)})", None)
                continue
            except httpx.TransportError as err:
                # Refused or unresolvable: nothing was sent.  A connection lost
                # mid-answer is like a read timeout.
                if last or not (idempotent or isinstance(err, httpx.ConnectError)):
                    raise ServerUnreachable(
                        f"Cannot reach {shown}: {_transport_reason(err)} "
                        f"(after {attempt} attempt{'s' if attempt > 1 else ''})"
                    ) from None
                self._wait(attempt, attempts, _transport_reason(err), None)
                continue
            log.debug("%s %s -> %s", method, shown, response.status_code)
            # 429 and 503 say the request was not processed; after a 500, 502 or
            # 504 it may have been, so only an idempotent request is repeated.
            retryable = response.status_code in (429, 503) or (
                idempotent and response.status_code in RETRY_STATUSES
            )
            if retryable and not last:
                self._wait(
                    attempt,
                    attempts,
                    f"server answered {response.status_code} {response.reason_phrase}",
                    response.headers.get("Retry-After"),
                )
                continue
            return self._decode(method, shown, response, attempt)
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    def _wait(self, attempt: int, attempts: int, why: str, retry_after: str | None) -> None:
        delay = self.retry.delay(attempt, retry_after)
        message = f"Retrying: {why}; waiting {delay:g} s (attempt {attempt + 1} of {attempts})"
        log.info(message)
        if self._notify is not None:
            self._notify(message)
        self.retry.sleep(delay)

    def _decode(self, method: str, shown: str, response: httpx.Response, attempt: int) -> dict[str, Any]:
        status = response.status_code
        body = _json_or_none(response.content)
        outcome = body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
        what = f"{method} {shown}"
        answer = f"{status} {response.reason_phrase}".strip()
        if 200 <= status < 300:
            if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
                raise ServerFailure(
                    f"{what} answered {answer} with something that is not FHIR JSON: "
                    f"{self._snippet(response)}",
                    status=status,
                )
            return body
        if status in (401, 403):
            hint = "Check --token or FHIRCONV_TOKEN." if status == 401 else "The token lacks access to this."
            raise AuthorizationError(
                f"{what}: the server refused the credentials ({answer}). {hint}", outcome, status
            )
        if status in (404, 410):
            raise ResourceNotFound(f"{what}: not found ({answer})", outcome, status)
        if status in RETRY_STATUSES or status >= 500:
            tries = f" after {attempt} attempt{'s' if attempt > 1 else ''}" if attempt > 1 else ""
            if outcome is not None:
                raise ServerFailure(f"{what}: the server answered {answer}{tries}", outcome, status)
            raise ServerFailure(
                f"{what}: the server answered {answer}{tries}: {self._snippet(response)}", status=status
            )
        if 300 <= status < 400:
            where = display_url(response.headers.get("Location", "(no Location)"))
            raise ServerFailure(
                f"{what}: the server redirects ({answer}) to {where}; give that URL as --server",
                status=status,
            )
        if outcome is not None:
            raise ServerRejected(f"{what}: the server rejected the request ({answer})", outcome, status)
        raise ServerRejected(
            f"{what}: the server rejected the request ({answer}) without an OperationOutcome: "
            f"{self._snippet(response)}",
            status=status,
        )

    def _snippet(self, response: httpx.Response) -> str:
        kind = response.headers.get("Content-Type", "no Content-Type")
        text = response.content[: SNIPPET_CHARS * 4].decode("utf-8", "replace")
        text = " ".join(text.split())
        if self._token:
            # A misconfigured proxy may echo request headers into its error page.
            text = text.replace(self._token, "[token]")
        if len(text) > SNIPPET_CHARS:
            text = text[:SNIPPET_CHARS] + "..."
        return f"({kind}) {text!r}" if text else f"({kind}) empty body"

    def _expect_type(self, body: dict[str, Any], resource_type: str, what: str) -> dict[str, Any]:
        if body.get("resourceType") != resource_type:
            # Some servers answer 200 with an OperationOutcome instead of the resource.
            outcome = body if body.get("resourceType") == "OperationOutcome" else None
            raise ServerFailure(
                f"{what}: expected {_article(resource_type)} from the server, "
                f"got {_article(body.get('resourceType'))}",
                outcome,
            )
        return body

    def _next_link(self, bundle: dict[str, Any], what: str) -> str | None:
        for link in bundle.get("link") or []:
            if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
                url = str(link["url"])
                parts = urlsplit(url if "://" in url else self.base_url + url)
                # The token goes wherever the link points: only to this server.
                if (parts.scheme, parts.hostname, parts.port) != self._origin:
                    raise ServerFailure(
                        f"{what}: the server's `next` link points to another server "
                        f"({display_url(url)}); not following it"
                    )
                return url
        return None


def _article(name: Any) -> str:
    if not isinstance(name, str) or not name:
        return "something without a resourceType"
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _timeout_kind(err: httpx.TimeoutException) -> str:
    if isinstance(err, httpx.ConnectTimeout):
        return "no connection"
    if isinstance(err, httpx.ReadTimeout):
        return "no answer"
    if isinstance(err, httpx.WriteTimeout):
        return "sending the request"
    return "waiting for a free connection"


def _transport_reason(err: httpx.TransportError) -> str:
    text = str(err) or type(err).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "getaddrinfo" in lowered
    ):
        return "unknown host"
    if "ssl" in lowered or "certificate" in lowered:
        return f"TLS failure ({text})"
    return text
