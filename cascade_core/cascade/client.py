"""Calls one tier through the official `openai` SDK, sync and async, with bounded retries.

The SDK's own retries are switched off (max_retries=0) so that every attempt is counted and recorded here:
429 (honouring Retry-After), 5xx, timeouts, connection errors and HTTP 200 bodies that are not chat completions
are retried with exponential backoff and full jitter; anything still failing comes back as a TierCall with
`error` set (named by cascade_core.cascade.endpoint_errors.classify, redacted), never as an exception.

Every attempt is in the call's `attempt_log`. An attempt that may have been billed upstream without giving
anything usable (a timeout, a cut-off body) is charged at an estimate: the prompt's tokens, plus max_tokens
as the upper bound of the reply, at the tier's prices; that part of the cost is `estimated_cost`.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import openai

from cascade_core.cascade.endpoint_errors import Failure, classify, host_of, redact
from cascade_core.cascade.labels import SIMULATED_FINGERPRINT
from cascade_core.cascade.pricing import call_cost, price_table_cost
from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions
from cascade_core.cascade.structured import FormatLevel, next_level, refuses_format, response_format
from cascade_core.cascade.tier_config import RetryConfig, TierConfig
from cascade_core.records import TierCall
from cascade_core.wire.completion import check_completion

NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp, the simulator) accept any key


def requests_left(headers: Any) -> int | None:
    """x-ratelimit-remaining-requests, where an endpoint sends it (OpenAI, Together, many gateways)."""
    try:
        value = headers.get("x-ratelimit-remaining-requests")
        return None if value is None else max(0, int(float(value)))
    except (TypeError, ValueError, AttributeError):
        return None


def prompt_tokens_estimate(messages: list[dict[str, str]]) -> int:
    """About four characters a token, for endpoints that send no usage and for lost attempts."""
    return sum(len(m.get("content") or "") for m in messages) // 4


class CallCancelled(asyncio.CancelledError):
    """The task awaiting a tier call was cancelled (a server shutting down): `call` is the recorded TierCall,
    error kind "cancelled", with the attempt that was on the wire charged at an estimate (it may be billed)."""

    def __init__(self, call: TierCall) -> None:
        super().__init__(call.error)
        self.call = call


class _Attempts:
    """What the attempts of one call so far cost and how they went."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.lost = self.lost_in = self.lost_out = 0

    def failed(self, failure: Failure, latency_ms: float, tokens_in: int, max_tokens: int) -> None:
        entry: dict[str, Any] = {"n": len(self.log) + 1, "outcome": "error", "kind": failure.kind,
                                 "latency_ms": round(latency_ms, 3), "billed_estimate": failure.billed}
        self.log.append(entry)
        if failure.billed:
            self.lost += 1
            self.lost_in += tokens_in
            self.lost_out += max_tokens

    def succeeded(self, latency_ms: float) -> None:
        self.log.append({"n": len(self.log) + 1, "outcome": "ok", "kind": None, "latency_ms": round(latency_ms, 3),
                         "billed_estimate": False})


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
        # How this endpoint takes structured output: json_schema until it refuses, then json_object, then none.
        self.format_level: FormatLevel = "json_schema" if tier.json_mode else "none"

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
        if options.json_mode:
            fmt = response_format(self.format_level, options.schema)
            if fmt is not None:
                params["response_format"] = fmt
        if options.logprobs:
            params["logprobs"] = True
            if options.top_logprobs:
                params["top_logprobs"] = options.top_logprobs
        return params

    @property
    def host(self) -> str:
        return host_of(self.base_url)

    def _lost_cost(self, attempts: _Attempts) -> float:
        return price_table_cost(self.tier, attempts.lost_in, attempts.lost_out)

    def _to_call(self, messages: list[dict[str, str]], response: Any, latency_ms: float,
                 attempts: _Attempts, ratelimit_remaining: int | None = None) -> TierCall:
        choice = response.choices[0]
        usage = response.usage
        tokens_in = (usage.prompt_tokens or 0) if usage else 0
        tokens_out = (usage.completion_tokens or 0) if usage else 0
        usage_cost = (usage.model_extra or {}).get("cost") if usage else None
        cost, source = call_cost(self.tier, tokens_in, tokens_out, usage_cost)
        estimated = 0.0
        if usage is None or (tokens_in == 0 and tokens_out == 0 and usage_cost is None):
            # No usage from the endpoint: the call still cost something; estimate ~4 characters a token.
            tokens_in = prompt_tokens_estimate(messages)
            tokens_out = len(choice.message.content or "") // 4
            cost, source = price_table_cost(self.tier, tokens_in, tokens_out), "estimated"
            estimated = cost
        lost = self._lost_cost(attempts)
        logprobs = None
        if choice.logprobs is not None and choice.logprobs.content:
            logprobs = [(t.token, t.logprob) for t in choice.logprobs.content]
        return TierCall(
            tier_name=self.tier.name,
            model=self.tier.model,
            messages=messages,
            raw_output=choice.message.content or "",
            finish_reason=choice.finish_reason,  # as sent: None stays None, never an invented "stop"
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost + lost,
            cost_source=source,
            latency_ms=latency_ms,
            attempts=len(attempts.log),
            logprobs=logprobs,
            simulated=getattr(response, "system_fingerprint", None) == SIMULATED_FINGERPRINT,
            lost_attempts=attempts.lost,
            lost_tokens_in=attempts.lost_in,
            lost_tokens_out=attempts.lost_out,
            estimated_cost=estimated + lost,
            attempt_log=tuple(attempts.log),
            ratelimit_remaining=ratelimit_remaining,
        )

    def _failed_call(self, messages: list[dict[str, str]], failure: Failure, latency_ms: float,
                     attempts: _Attempts) -> TierCall:
        key = self.tier.api_key()
        message = redact(failure.message, [key])  # some gateways echo the request's key in their error body
        if failure.kind == "auth" and self.tier.api_key_env and not key:
            message += f" (the key variable ${self.tier.api_key_env} is not set)"
        lost = self._lost_cost(attempts)
        return TierCall(
            tier_name=self.tier.name,
            model=self.tier.model,
            messages=messages,
            latency_ms=latency_ms,
            attempts=len(attempts.log),
            error=message,
            error_kind=failure.kind,
            simulated=self.tier.is_embedded,
            cost=lost,
            cost_source="estimated" if lost > 0 else "none",
            lost_attempts=attempts.lost,
            lost_tokens_in=attempts.lost_in,
            lost_tokens_out=attempts.lost_out,
            estimated_cost=lost,
            attempt_log=tuple(attempts.log),
        )

    def _retry_or_give_up(self, messages: list[dict[str, str]], err: Exception, started: float, attempt_started: float,
                          attempts: _Attempts) -> TierCall | float:
        """After a failed attempt: the recorded failed call, or how long to wait before trying again."""
        now = time.perf_counter()
        failure = classify(err, self.host, self.tier.timeout)
        attempts.failed(failure, (now - attempt_started) * 1000, prompt_tokens_estimate(messages), self.tier.max_tokens)
        attempt = len(attempts.log)
        if not failure.retryable or attempt > self.retry.max_retries:
            return self._failed_call(messages, failure, (now - started) * 1000, attempts)
        return backoff_delay(attempt - 1, self.retry, failure.retry_after, self._rng)

    def _cancelled(self, messages: list[dict[str, str]], started: float, attempt_started: float | None,
                   attempts: _Attempts) -> TierCall:
        """The call as far as it went when its task was cancelled; an attempt on the wire may be billed."""
        now = time.perf_counter()
        on_wire = attempt_started is not None
        failure = Failure("cancelled", f"{self.host}: cancelled by the server's shutdown "
                          + ("while the request was on the wire (it may have been billed; charged at an estimate)"
                             if on_wire else "between attempts"), retryable=False, billed=on_wire)
        if attempt_started is not None:
            attempts.failed(failure, (now - attempt_started) * 1000, prompt_tokens_estimate(messages),
                            self.tier.max_tokens)
        return self._failed_call(messages, failure, (now - started) * 1000, attempts)

    def _step_down(self, params: dict[str, Any], options: RequestOptions, err: Exception) -> bool:
        """The endpoint refused the request's response_format: ask one level lower from now on (remembered
        for this endpoint), and say whether to send the request again at once (not counted as a retry)."""
        if "response_format" not in params or not refuses_format(err):
            return False
        if params["response_format"] == response_format(self.format_level, options.schema):
            self.format_level = next_level(self.format_level, options.schema)  # else a concurrent call did
        return True

    def call(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        params = self.request_params(messages, options)
        started, attempts = time.perf_counter(), _Attempts()
        while True:
            attempt_started = time.perf_counter()
            try:
                raw = self.sync_client.chat.completions.with_raw_response.create(**params)
                response = raw.parse()
                check_completion(response)
            except Exception as err:  # every failure becomes a recorded TierCall
                if self._step_down(params, options, err):
                    params = self.request_params(messages, options)
                    continue
                outcome = self._retry_or_give_up(messages, err, started, attempt_started, attempts)
                if isinstance(outcome, TierCall):
                    return outcome
                time.sleep(outcome)
                continue
            attempts.succeeded((time.perf_counter() - attempt_started) * 1000)
            return self._to_call(messages, response, (time.perf_counter() - started) * 1000, attempts,
                                 requests_left(raw.headers))

    async def acall(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        params = self.request_params(messages, options)
        started, attempts = time.perf_counter(), _Attempts()
        while True:
            attempt_started = time.perf_counter()
            try:
                raw = await self.async_client.chat.completions.with_raw_response.create(**params)
                response = raw.parse()
                check_completion(response)
            except asyncio.CancelledError:
                raise CallCancelled(self._cancelled(messages, started, attempt_started, attempts)) from None
            except Exception as err:  # every failure becomes a recorded TierCall
                if self._step_down(params, options, err):
                    params = self.request_params(messages, options)
                    continue
                outcome = self._retry_or_give_up(messages, err, started, attempt_started, attempts)
                if isinstance(outcome, TierCall):
                    return outcome
                try:
                    await asyncio.sleep(outcome)
                except asyncio.CancelledError:  # between attempts: nothing on the wire
                    raise CallCancelled(self._cancelled(messages, started, None, attempts)) from None
                continue
            attempts.succeeded((time.perf_counter() - attempt_started) * 1000)
            return self._to_call(messages, response, (time.perf_counter() - started) * 1000, attempts,
                                 requests_left(raw.headers))

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
