"""Calls one tier through the official `openai` SDK, sync and async, with bounded retries.

The SDK's own retries are switched off (max_retries=0) so that every attempt is counted and recorded here:
429 (honouring Retry-After), 5xx, timeouts and connection errors are retried with exponential backoff and
full jitter; anything still failing comes back as a TierCall with `error` set, never as an exception.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import openai

from cascade_core.cascade.config import RetryConfig, TierConfig
from cascade_core.cascade.labels import SIMULATED_FINGERPRINT
from cascade_core.cascade.pricing import call_cost, price_table_cost
from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions
from cascade_core.records import TierCall

NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp, the simulator) accept any key


@dataclass(frozen=True)
class _Failure:
    kind: str
    message: str
    retryable: bool
    retry_after: float | None = None


def _retry_after(err: openai.APIStatusError) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, else Retry-After in seconds (HTTP dates ignored)."""
    headers = err.response.headers if err.response is not None else {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            value = headers.get(name)
            if value is not None:
                return float(value) / scale
        except ValueError:
            continue
    return None


def classify(err: Exception) -> _Failure:
    """Map an SDK exception to a failure kind and whether it is worth retrying."""
    if isinstance(err, openai.RateLimitError):
        return _Failure("rate_limit", f"429 rate limited: {err.message}", True, _retry_after(err))
    if isinstance(err, openai.APITimeoutError):
        return _Failure("timeout", "request timed out", True)
    if isinstance(err, openai.APIConnectionError):
        return _Failure("connection", f"connection error: {err.message}", True)
    if isinstance(err, openai.APIStatusError):
        retryable = err.status_code >= 500
        kind = "server" if retryable else "auth" if err.status_code in (401, 403) else "bad_request"
        return _Failure(kind, f"HTTP {err.status_code}: {err.message}", retryable, _retry_after(err))
    return _Failure("other", f"{type(err).__name__}: {err}", False)


def backoff_delay(attempt: int, retry: RetryConfig, retry_after: float | None, rng: random.Random) -> float:
    """Full-jitter exponential backoff, never shorter than the server's Retry-After (capped)."""
    delay = rng.uniform(0, min(retry.backoff_max, retry.backoff_base * 2**attempt))
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry.retry_after_max))
    return delay


class TierClient:
    """One tier's endpoint. Builds SDK clients lazily; the API key is read from the environment at that moment."""

    def __init__(self, tier: TierConfig, base_url: str, retry: RetryConfig, *, seed: int | None = None) -> None:
        self.tier = tier
        self.base_url = base_url
        self.retry = retry
        self._rng = random.Random(seed)
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "api_key": self.tier.api_key() or NO_KEY,
            "max_retries": 0,
            "timeout": self.tier.timeout,
        }

    @property
    def sync_client(self) -> openai.OpenAI:
        if self._sync is None:
            self._sync = openai.OpenAI(**self._client_kwargs())
        return self._sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            # The SDK's aiohttp transport: about a third less CPU per call than the default under load
            # (the API server reaches 300 requests/s on one process with it, not without).
            self._async = openai.AsyncOpenAI(**self._client_kwargs(), http_client=openai.DefaultAioHttpClient())
        return self._async

    def request_params(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS
                       ) -> dict[str, Any]:
        """The request body. The sweep's cache keys hash it: it must be exactly what is sent."""
        params: dict[str, Any] = {
            "model": self.tier.model,
            "messages": messages,
            "max_tokens": self.tier.max_tokens,
            "temperature": self.tier.temperature,
        }
        if options.json_mode and self.tier.json_mode:
            params["response_format"] = {"type": "json_object"}
        if options.logprobs:
            params["logprobs"] = True
            if options.top_logprobs:
                params["top_logprobs"] = options.top_logprobs
        return params

    def _to_call(self, messages: list[dict[str, str]], response: Any, latency_ms: float, attempts: int) -> TierCall:
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        tokens_in = (usage.prompt_tokens or 0) if usage else 0
        tokens_out = (usage.completion_tokens or 0) if usage else 0
        usage_cost = (usage.model_extra or {}).get("cost") if usage else None
        cost, source = call_cost(self.tier, tokens_in, tokens_out, usage_cost)
        if usage is None or (tokens_in == 0 and tokens_out == 0 and usage_cost is None):
            # No usage from the endpoint: the call still cost something; estimate ~4 characters a token.
            text = (choice.message.content or "") if choice is not None else ""
            tokens_in = sum(len(m.get("content") or "") for m in messages) // 4
            tokens_out = len(text) // 4
            cost, source = price_table_cost(self.tier, tokens_in, tokens_out), "estimated"
        logprobs = None
        if choice is not None and choice.logprobs is not None and choice.logprobs.content:
            logprobs = [(t.token, t.logprob) for t in choice.logprobs.content]
        return TierCall(
            tier_name=self.tier.name,
            model=self.tier.model,
            messages=messages,
            raw_output=(choice.message.content or "") if choice is not None else "",
            finish_reason=choice.finish_reason if choice is not None else None,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            cost_source=source,
            latency_ms=latency_ms,
            attempts=attempts,
            logprobs=logprobs,
            simulated=getattr(response, "system_fingerprint", None) == SIMULATED_FINGERPRINT,
        )

    def _failed_call(
        self, messages: list[dict[str, str]], failure: _Failure, latency_ms: float, attempts: int
    ) -> TierCall:
        message = failure.message
        key = self.tier.api_key()
        if key and key in message:  # some gateways echo the request's key in their error body
            message = message.replace(key, "***")
        if failure.kind == "auth" and self.tier.api_key_env and not key:
            message += f" (the key variable ${self.tier.api_key_env} is not set)"
        return TierCall(
            tier_name=self.tier.name,
            model=self.tier.model,
            messages=messages,
            latency_ms=latency_ms,
            attempts=attempts,
            error=message,
            error_kind=failure.kind,
            simulated=self.tier.is_embedded,
        )

    def _retry_or_give_up(
        self, messages: list[dict[str, str]], err: Exception, started: float, attempt: int
    ) -> TierCall | float:
        """After a failed attempt: the recorded failed call, or how long to wait before trying again."""
        failure = classify(err)
        if not failure.retryable or attempt > self.retry.max_retries:
            return self._failed_call(messages, failure, (time.perf_counter() - started) * 1000, attempt)
        return backoff_delay(attempt - 1, self.retry, failure.retry_after, self._rng)

    def call(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        params = self.request_params(messages, options)
        started, attempt = time.perf_counter(), 0
        while True:
            attempt += 1
            try:
                response = self.sync_client.chat.completions.create(**params)
            except Exception as err:  # every failure becomes a recorded TierCall
                outcome = self._retry_or_give_up(messages, err, started, attempt)
                if isinstance(outcome, TierCall):
                    return outcome
                time.sleep(outcome)
                continue
            return self._to_call(messages, response, (time.perf_counter() - started) * 1000, attempt)

    async def acall(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        params = self.request_params(messages, options)
        started, attempt = time.perf_counter(), 0
        while True:
            attempt += 1
            try:
                response = await self.async_client.chat.completions.create(**params)
            except Exception as err:  # every failure becomes a recorded TierCall
                outcome = self._retry_or_give_up(messages, err, started, attempt)
                if isinstance(outcome, TierCall):
                    return outcome
                await asyncio.sleep(outcome)
                continue
            return self._to_call(messages, response, (time.perf_counter() - started) * 1000, attempt)

    def list_models(self) -> list[str]:
        """For the Settings page's connection test: the endpoint's model ids."""
        return [m.id for m in self.sync_client.models.list()]

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async SDK client inside the event loop it is bound to (call before that loop ends)."""
        if self._async is not None:
            await self._async.close()
            self._async = None
