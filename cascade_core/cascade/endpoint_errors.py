"""One function names every endpoint failure: the host and the real cause, redacted.

The SDK's aiohttp transport reports a refused connection, a failed DNS lookup and a TLS error all as
`APITimeoutError`; the default transport reports them as "Connection error.". The cause is in the exception
chain (ConnectionRefusedError, socket.gaierror, ssl.SSLError), so that chain is read here, once, for every
caller (query, sweep, serve, audit, the Settings page's Test button).
"""

from __future__ import annotations

import email.utils
import html
import json
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cascade_core.records import ErrorKind
from cascade_core.security.redact import redact as redact_secrets
from cascade_core.wire.completion import BadResponse

REDACTED = "***"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Failure:
    kind: ErrorKind
    message: str
    retryable: bool
    retry_after: float | None = None
    billed: bool = False  # the attempt may have been charged upstream although nothing usable came back


def host_of(base_url: str) -> str:
    """host[:port] of an endpoint URL, without credentials."""
    try:
        netloc = urlsplit(base_url).netloc.rpartition("@")[2]
    except ValueError:
        netloc = ""
    return netloc or base_url


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ***: every endpoint error passes here, and through the one redaction
    function (cascade_core.security.redact: the given keys and the environment's, runs of 8+ of a key's first
    characters, keys inside URLs and headers)."""
    return redact_secrets(text, [s for s in secrets if s])


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _transport_cause(err: BaseException, host: str, timeout: float) -> Failure | None:
    """The network-level cause in the exception chain, if there is one."""
    from cascade_core.cascade.body_watch import AttemptDeadline, BodyCutOff  # loaded on first failure only

    for link in _chain(err):
        if isinstance(link, AttemptDeadline):
            return Failure("timeout", f"{host}: reply not complete within {timeout:g} s (timed out: the HTTP "
                           f"{link.status} reply's body was still trickling in, {link.received:,} bytes so far)", True,
                           billed=True)
        if isinstance(link, BodyCutOff):
            return Failure("connection", f"{host}: {link}", True, billed=link.billed)
        if isinstance(link, ConnectionRefusedError):
            return Failure("refused", f"{host}: connection refused (nothing listens there?)", True)
        if isinstance(link, socket.gaierror):
            return Failure("dns", f"{host}: DNS lookup failed ({getattr(link, 'strerror', None) or link})", True)
        if isinstance(link, ssl.SSLError):
            return Failure("tls", f"{host}: TLS handshake failed ({getattr(link, 'reason', None) or link})", False)
        if isinstance(link, json.JSONDecodeError):
            return Failure("bad_response", f"{host}: answered HTTP 200 with cut-off or invalid JSON "
                           f"({link.msg} at character {link.pos})", True, billed=True)
    return None


def classify(err: BaseException, host: str, timeout: float) -> Failure:
    """Map an SDK (or transport, or body) exception to a named failure and whether to retry it."""
    import openai  # heavy: loaded on first failure only

    if isinstance(err, BadResponse):
        return Failure("bad_response", f"{host}: answered HTTP 200 with {err.what}", True, billed=err.billed)
    cause = _transport_cause(err, host, timeout)
    if cause is not None:
        return cause
    if isinstance(err, openai.RateLimitError):
        return Failure("rate_limit", f"{host}: HTTP 429 rate limited: {_said(err)}", True, _retry_after(err))
    if isinstance(err, openai.APITimeoutError):
        return Failure("timeout", f"{host}: no reply within {timeout:g} s (timed out)", True, billed=True)
    if isinstance(err, openai.APIConnectionError):
        return Failure("connection", f"{host}: connection failed ({_root(err)})", True)
    if isinstance(err, openai.APIStatusError):
        retryable = _should_retry(err, err.status_code >= 500)
        kind: ErrorKind = "server" if retryable else "auth" if err.status_code in (401, 403) else "bad_request"
        return Failure(kind, f"{host}: HTTP {err.status_code}: {_said(err)}", retryable, _retry_after(err))
    return Failure("other", f"{host}: {type(err).__name__}: {err}", False)


MAX_SAID = 300  # characters of an endpoint's own error text kept in a message


def one_line(text: str, limit: int = MAX_SAID) -> str:
    """`text` on one line (LiteLLM's errors span several), cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def html_page(text: str) -> str | None:
    """'an HTML page' with its title (or first heading) when `text` is one, as proxies and gateways send; else None."""
    if "<html" not in text[:500].lower() and "<!doctype" not in text[:500].lower():
        return None
    found = _TITLE.search(text)
    title = one_line(html.unescape(re.sub(r"<[^>]+>", "", found.group(1) or found.group(2)))) if found else ""
    return f"an HTML page {title!r}" if title else "an HTML page"


def _said(err: Any) -> str:
    """What the endpoint said about a status error, on one line: its JSON error message, an HTML page's title, or
    the text (the SDK's message is only "Error code: 502" for a page and repeats the status for JSON)."""
    body = getattr(err, "body", None)
    if isinstance(body, str):
        return html_page(body) or one_line(body) or "(empty body)"
    message = str(getattr(err, "message", "") or err)
    return one_line(re.sub(r"^Error code: \d+ - ", "", message))


def _root(err: BaseException) -> str:
    last = _chain(err)[-1]
    return f"{type(last).__name__}: {last}" if last is not err else str(err)


def _should_retry(err: object, default: bool) -> bool:
    """The server's `x-should-retry: true|false` overrides the status code's rule (as the openai SDK does)."""
    response = getattr(err, "response", None)
    value = (response.headers.get("x-should-retry") or "").strip().lower() if response is not None else ""
    return True if value == "true" else False if value == "false" else default


def _retry_after(err: object) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, else Retry-After in seconds or as an HTTP date."""
    response = getattr(err, "response", None)
    headers = response.headers if response is not None else {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
        if name == "retry-after":
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, float((when - datetime.now(UTC)).total_seconds()))
    return None
