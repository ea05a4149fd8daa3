"""Why the tier client keeps its own retry loop instead of the openai SDK's `max_retries` (issue 16).

The SDK retries 408/409/429/5xx, timeouts and connection errors, honours Retry-After (seconds and HTTP date)
and `x-should-retry`, and reports `retries_taken`. It does not retry an HTTP 200 whose body is not a chat
completion (a gateway's HTML error page, an empty or cut-off body), and its attempts are invisible: a
timed-out attempt the endpoint may have billed is not charged anywhere. Ours does both; it reads the same
headers the SDK reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import openai

from cascade_core.cascade import TierClient, default_config
from cascade_core.cascade.config import RetryConfig
from cascade_core.cascade.endpoint_errors import classify

SMALL = "sim-llama-3.1-8b"
RETRIES = RetryConfig(max_retries=3, backoff_base=0.001, backoff_max=0.005, retry_after_max=0.01)


def test_sdk_does_not_retry_a_gateway_html_200_and_ours_does(fresh_simulator) -> None:
    sim = fresh_simulator(faults_by_model={SMALL: {"html_body_rate": 1.0}})
    sdk = openai.OpenAI(base_url=sim.base_url, api_key="unused", max_retries=3)
    raw = sdk.chat.completions.with_raw_response.create(model=SMALL, messages=[{"role": "user", "content": "2+2?"}])
    assert raw.retries_taken == 0  # the SDK took the page as the answer: a str, no chat completion
    assert isinstance(raw.parse(), str) and "Bad Gateway" in raw.parse()
    assert sim.stats()["total"] == 1
    sim.reset()
    tier = default_config().tiers[0].model_copy(update={"model": SMALL})
    call = TierClient(tier, sim.base_url, RETRIES).call([{"role": "user", "content": "2+2?"}])
    assert sim.stats()["total"] == 4 and call.attempts == 4  # ours retried it, every attempt recorded
    assert call.error_kind == "bad_response" and [a["kind"] for a in call.attempt_log] == ["bad_response"] * 4


def _status_error(status: int, headers: dict[str, str]) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(status, headers=headers, request=request, json={"error": {"message": "x"}})
    cls = openai.RateLimitError if status == 429 else openai.InternalServerError
    return cls("x", response=response, body=None)


def test_retry_after_as_an_http_date_and_x_should_retry_as_the_sdk_reads_them() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    failure = classify(_status_error(429, {"retry-after": soon}), "h", 30)
    assert failure.retryable and failure.retry_after is not None and 25 < failure.retry_after <= 30
    assert classify(_status_error(429, {"retry-after": "2"}), "h", 30).retry_after == 2.0
    assert classify(_status_error(429, {"retry-after-ms": "1500"}), "h", 30).retry_after == 1.5
    assert classify(_status_error(429, {"retry-after": "soon-ish"}), "h", 30).retry_after is None
    assert not classify(_status_error(503, {"x-should-retry": "false"}), "h", 30).retryable
    assert classify(_status_error(503, {}), "h", 30).retryable
