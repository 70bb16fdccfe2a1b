"""HTTP for the TikTok APIs: a GET with the access token in a header, retries, clear errors.

Standard library only (:mod:`urllib.request`). The access token travels in the
``Access-Token`` header and nowhere else: never in a URL, a message, a log line or a
``repr``. It is held in a :class:`Secret`, added as an *unredirected* header, and
redirects are refused outright, so it cannot be carried to another host. Every
message is scrubbed of the token once more before it leaves, in case a server echoes
it back.

Retries: TikTok's rate-limit code ``40100`` (and its transient server codes), HTTP 429
and 5xx, and timeouts or dropped connections are retried with exponential backoff and
jitter (1, 2, 4 … seconds, each shortened at random by up to half), at most
:attr:`RetryPolicy.attempts` tries per request and at most :attr:`RetryPolicy.max_total`
seconds of waiting over the whole client. A ``Retry-After`` header is honoured up to
:attr:`RetryPolicy.max_delay`. The sleep and random functions are injectable so that
tests never wait.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any, NoReturn

from kpiengine.errors import SourceError

log = logging.getLogger("kpiengine_tiktok.api")

DEFAULT_BASE_URL = "https://business-api.tiktok.com/open_api/v1.3/"

#: TikTok answer codes worth another try: the rate limit and transient server errors.
RETRY_CODES = frozenset({40100, 50000, 50002})
#: HTTP statuses worth another try.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: TikTok answer codes that mean the access token is wrong, expired or lacks a scope.
AUTH_CODES = frozenset({40001, 40102, 40104, 40105, 40106})

ParamValue = str | int | list[str] | Mapping[str, Any]


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that needs it (the request header)."""
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the value replaced by ``***``."""
        return text.replace(self._value, "***") if self._value else text

    def scrub_json(self, value: Any) -> Any:
        """Parsed JSON ``value`` with every string in it (keys too) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_json(k): self.scrub_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_json(v) for v in value]
        return value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: tries per request, backoff, and caps on the waiting."""

    attempts: int = 6  #: tries per request, the first one included
    base_delay: float = 1.0  #: seconds before the first retry (before jitter); doubles each time
    max_delay: float = 30.0  #: the longest single wait, Retry-After included
    max_total: float = 180.0  #: the most waiting over all requests of one client


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """``url`` checked (http or https, a host, no query, no credentials) and ending in ``/``.

    Plain ``http`` is accepted only for this machine (tests, a local proxy): anywhere
    else the token would cross the network in clear text.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"the TikTok API base URL must be an http(s) URL, not `{url}`")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SourceError("the TikTok API base URL must not carry credentials, a query or a #")
    if parts.scheme == "http" and not is_loopback(url):
        raise SourceError(
            f"refusing to send the access token over plain http to {parts.hostname}",
            hint="use https, or http only to 127.0.0.1/localhost (tests, a local proxy)",
        )
    return url if url.endswith("/") else url + "/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib then raises HTTPError with the 3xx status."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


def _encode(params: Mapping[str, ParamValue]) -> str:
    """The query string: lists and objects as compact JSON, as TikTok expects."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, str):
            pairs.append((key, value))
        elif isinstance(value, int):
            pairs.append((key, str(value)))
        else:
            pairs.append((key, json.dumps(value, separators=(",", ":"), ensure_ascii=False)))
    return urllib.parse.urlencode(pairs)


def _transient(exc: BaseException) -> bool:
    """Whether a transport failure may go away on its own (timeout, dropped connection)."""
    reason = getattr(exc, "reason", exc)
    return isinstance(
        reason,
        TimeoutError
        | ConnectionResetError
        | ConnectionAbortedError
        | http.client.RemoteDisconnected
        | http.client.IncompleteRead,
    )


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare here, fall back to the backoff


@dataclass
class Response:
    """One successful answer: the decoded JSON object and its raw text."""

    body: dict[str, Any]
    text: str


class ApiClient:
    """GET requests to the TikTok APIs under ``base_url``, with ``token`` in a header.

    ``token_hint`` names where the token comes from (``$TIKTOK_ACCESS_TOKEN``), for
    the hint of an authentication error.
    """

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        token_hint: str = "the access token",  # noqa: S107 -- words for a message
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._token = token
        self._token_hint = token_hint
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self._timeout = timeout
        self.waited = 0.0  #: seconds spent waiting between retries so far
        self.requests = 0  #: requests sent so far
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if is_loopback(self.base_url):
            handlers.append(urllib.request.ProxyHandler({}))  # never via a proxy to localhost
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, token=***)"

    def _fail(self, message: str, hint: str | None = None) -> SourceError:
        scrubbed_hint = self._token.scrub(hint) if hint else None
        return SourceError(self._token.scrub(message), hint=scrubbed_hint)

    def get(self, endpoint: str, params: Mapping[str, ParamValue]) -> Response:
        """GET ``endpoint`` (such as ``report/integrated/get/``) and return the answer.

        Raises :class:`SourceError` when TikTok answers an error code, when the HTTP
        request fails, or when retries run out.
        """
        query = _encode(params)
        url = urllib.parse.urljoin(self.base_url, endpoint) + ("?" + query if query else "")
        if self._token.reveal() and self._token.reveal() in url:
            raise self._fail(f"refusing to send a request to {endpoint}: the URL holds the token")
        what = endpoint.strip("/")
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            problem, delay_hint = self._try_once(url, what)
            if isinstance(problem, Response):
                return problem
            # A retryable problem: wait and try again, within the bounds.
            if delay_hint is not None:  # the server said how long (Retry-After)
                delay = min(policy.max_delay, delay_hint)
            else:  # 1, 2, 4, 8 … s, each shortened at random by up to half (jitter)
                backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
                delay = backoff * (0.5 + 0.5 * self._rand())
            if attempt == policy.attempts or self.waited + delay > policy.max_total:
                raise self._fail(
                    f"the TikTok API kept failing on {what}: {problem} "
                    f"(gave up after {attempt} attempts and {self.waited:.0f} s of waiting)",
                    hint="TikTok limits requests per second per app; try again later",
                )
            log.info(
                "TikTok API %s: %s; retrying in %.1f s (attempt %d of %d)",
                what,
                self._token.scrub(problem),
                delay,
                attempt + 1,
                policy.attempts,
            )
            self.waited += delay
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _try_once(self, url: str, what: str) -> tuple[Response | str, float | None]:
        """One request: the response, or a description of a retryable problem and the
        wait the server asked for (Retry-After). Non-retryable problems raise."""
        request = urllib.request.Request(  # noqa: S310 -- the scheme is checked: http(s) only
            url,
            method="GET",
            headers={"Accept": "application/json", "User-Agent": "kpiengine-tiktok"},
        )
        # Unredirected: never copied onto a redirected request (redirects are refused anyway).
        request.add_unredirected_header("Access-Token", self._token.reveal())
        self.requests += 1
        log.debug("GET %s", self._token.scrub(url.replace(self.base_url, "", 1)))
        headers: Message | None = None
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status: int = answer.status
                headers = answer.headers
                raw: bytes = answer.read()
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, exc.headers
            try:
                raw = exc.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            finally:
                exc.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            text = self._token.scrub(str(reason) or type(reason).__name__)
            if _transient(exc):
                return f"the connection failed ({text})", None
            host = urllib.parse.urlsplit(self.base_url).netloc
            raise self._fail(f"cannot reach the TikTok API at {host} ({what}): {text}") from None
        return self._judge(status, headers, raw, what)

    def _judge(
        self, status: int, headers: Message | None, raw: bytes, what: str
    ) -> tuple[Response | str, float | None]:
        text = raw.decode("utf-8", errors="replace")
        body: Any = None
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
        envelope = body if isinstance(body, dict) else None
        parts = [self._token.scrub(part) for part in _detail_parts(envelope)]
        detail = f" ({'; '.join(parts)})" if parts else ""
        if 300 <= status < 400:
            raise self._fail(
                f"the TikTok API answered {what} with a redirect (HTTP {status}); "
                "not followed, so that the access token goes nowhere else"
            )
        if status in RETRY_STATUS:
            return f"HTTP {status}{detail}", _retry_after(headers)
        if status >= 400:
            hint = (
                f"check {self._token_hint}: it may be wrong, expired or lack the scope"
                if status in (401, 403)
                else None
            )
            raise self._fail(f"the TikTok API answered {what} with HTTP {status}{detail}", hint)
        if envelope is None:
            raise self._fail(f"the TikTok API answered {what} with something that is not JSON")
        code = envelope.get("code")
        if isinstance(code, str) and code.strip().isdigit():
            code = int(code)
        if code in RETRY_CODES:
            kind = "rate limited" if code == 40100 else "a transient server error"
            return f"{kind} ({'; '.join([f'code {code}', *parts])})", None
        if code != 0:
            hint = (
                f"check {self._token_hint}: it may be wrong, expired or lack the scope"
                if code in AUTH_CODES
                else None
            )
            raise self._fail(f"the TikTok API answered {what} with error {code}{detail}", hint)
        if not isinstance(envelope.get("data"), dict):
            raise self._fail(f"the TikTok API answered {what} without a `data` object")
        # A server may echo the token anywhere in its data: none of it may reach a table.
        return Response(self._token.scrub_json(envelope), self._token.scrub(text)), None


def _detail_parts(envelope: Mapping[str, Any] | None) -> list[str]:
    """TikTok's message and request id from an answer, as short strings."""
    if envelope is None:
        return []
    parts = []
    message = envelope.get("message")
    if isinstance(message, str) and message.strip():
        parts.append(message.strip()[:300])
    request_id = envelope.get("request_id")
    if isinstance(request_id, str | int) and str(request_id):
        parts.append(f"request_id {request_id}")
    return parts
