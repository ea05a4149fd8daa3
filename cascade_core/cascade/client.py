"""Calls one tier through the official `openai` SDK, sync and async, with bounded retries.

The SDK's own retries are switched off (max_retries=0) so that every attempt is counted and recorded here:
429 (honouring Retry-After), 5xx, timeouts, connection errors and HTTP 200 bodies that are not chat completions
are retried with exponential backoff and full jitter; anything still failing comes back as a TierCall with
`error` set (named by cascade_core.cascade.endpoint_errors.classify, redacted), never as an exception.
Every attempt is in the call's `attempt_log`; how attempts are charged and recorded is in attempts.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
import time
from collections.abc import Generator
from typing import Any, cast

import openai

from cascade_core.cascade.attempts import (
    Attempts,
    backoff_delay,
    completed_call,
    failed_call,
    prompt_tokens_estimate,
)
from cascade_core.cascade.body_watch import async_hooks, sync_hooks
from cascade_core.cascade.endpoint_errors import Failure, classify, host_of
from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions
from cascade_core.cascade.structured import FormatLevel, next_level, refuses_format, response_format
from cascade_core.cascade.tier_config import RetryConfig, TierConfig
from cascade_core.records import TierCall
from cascade_core.wire.completion import read_completion

NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp, the simulator) accept any key


def sdk_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """The SDK's create() arguments for a request body: the body goes whole in `extra_body`, which the SDK merges
    into the JSON as it is (its keys win over the placeholder `messages=[]` the signature requires). Same bytes
    on the wire, but the SDK's type-driven transform of `messages` and `response_format` costs ~1.4 ms of CPU
    per request, a third of a sweep's client time (profiled with bench/bench_collect.py)."""
    return {"model": params["model"], "messages": [], "extra_body": params}


class CallCancelled(asyncio.CancelledError):
    """The task awaiting a tier call was cancelled (a server shutting down): `call` is the recorded TierCall,
    error kind "cancelled", with the attempt that was on the wire charged at an estimate (it may be billed)."""

    def __init__(self, call: TierCall) -> None:
        super().__init__(call.error)
        self.call = call


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
        # tier.max_in_flight: calls beyond it wait (threads for call(), the event loop's tasks for acall())
        self._thread_slots = threading.BoundedSemaphore(tier.max_in_flight) if tier.max_in_flight else None
        self._loop_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

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
            self._sync = openai.OpenAI(**self._client_kwargs(),
                                       http_client=openai.DefaultHttpxClient(event_hooks=sync_hooks(self.tier.timeout)))
        return self._sync

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        if self._async is None:
            # The SDK's aiohttp transport: about a third less CPU per call than the default under load
            # (the API server reaches 300 requests/s on one process with it, not without).
            http_client = openai.DefaultAioHttpClient(event_hooks=async_hooks(self.tier.timeout))
            self._async = openai.AsyncOpenAI(**self._client_kwargs(), http_client=http_client)
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

    def _retry_or_give_up(self, messages: list[dict[str, str]], err: Exception, started: float, attempt_started: float,
                          attempts: Attempts) -> TierCall | float:
        """After a failed attempt: the recorded failed call, or how long to wait before trying again."""
        now = time.perf_counter()
        failure = classify(err, self.host, self.tier.timeout)
        attempts.failed(failure, (now - attempt_started) * 1000, prompt_tokens_estimate(messages), self.tier.max_tokens)
        attempt = len(attempts.log)
        if not failure.retryable or attempt > self.retry.max_retries:
            return failed_call(self.tier, messages, failure, (now - started) * 1000, attempts)
        return backoff_delay(attempt - 1, self.retry, failure.retry_after, self._rng)

    def _cancelled(self, messages: list[dict[str, str]], started: float, attempt_started: float | None,
                   attempts: Attempts) -> TierCall:
        """The call as far as it went when its task was cancelled; an attempt on the wire may be billed."""
        now = time.perf_counter()
        on_wire = attempt_started is not None
        failure = Failure("cancelled", f"{self.host}: cancelled by the server's shutdown "
                          + ("while the request was on the wire (it may have been billed; charged at an estimate)"
                             if on_wire else "between attempts"), retryable=False, billed=on_wire)
        if attempt_started is not None:
            attempts.failed(failure, (now - attempt_started) * 1000, prompt_tokens_estimate(messages),
                            self.tier.max_tokens)
        return failed_call(self.tier, messages, failure, (now - started) * 1000, attempts)

    def _step_down(self, params: dict[str, Any], options: RequestOptions, err: Exception) -> bool:
        """The endpoint refused the request's response_format: ask one level lower from now on (remembered
        for this endpoint), and say whether to send the request again at once (not counted as a retry)."""
        if "response_format" not in params or not refuses_format(err):
            return False
        if params["response_format"] == response_format(self.format_level, options.schema):
            self.format_level = next_level(self.format_level, options.schema)  # else a concurrent call did
        return True

    def _attempt_loop(self, messages: list[dict[str, str]], options: RequestOptions
                      ) -> Generator[dict[str, Any] | float, Any, TierCall]:
        """The retry loop, written once for call() and acall(): yields each attempt's request body (and is sent
        back the raw response, or the exception sending it raised) or a delay to wait before the next attempt;
        returns the recorded call. A CancelledError thrown in (acall's task was cancelled) becomes CallCancelled."""
        params = self.request_params(messages, options)
        started, attempts = time.perf_counter(), Attempts()
        while True:
            attempt_started = time.perf_counter()
            try:
                raw = yield params
            except asyncio.CancelledError:
                raise CallCancelled(self._cancelled(messages, started, attempt_started, attempts)) from None
            try:
                if isinstance(raw, Exception):
                    raise raw
                response = raw.parse()
                completion = read_completion(response)
            except Exception as err:  # every failure becomes a recorded TierCall
                if self._step_down(params, options, err):
                    params = self.request_params(messages, options)
                    continue
                outcome = self._retry_or_give_up(messages, err, started, attempt_started, attempts)
                if isinstance(outcome, TierCall):
                    return outcome
                try:
                    yield outcome
                except asyncio.CancelledError:  # between attempts: nothing on the wire
                    raise CallCancelled(self._cancelled(messages, started, None, attempts)) from None
                continue
            attempts.succeeded((time.perf_counter() - attempt_started) * 1000)
            return completed_call(self.tier, messages, response, completion, (time.perf_counter() - started) * 1000,
                                  attempts, raw.headers)

    def call(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        if self._thread_slots is None:
            return self._call(messages, options)
        waited = time.perf_counter()
        with self._thread_slots:
            queued_ms = (time.perf_counter() - waited) * 1000
            return dataclasses.replace(self._call(messages, options), queue_ms=queued_ms)

    async def acall(self, messages: list[dict[str, str]], options: RequestOptions = PLAIN_OPTIONS) -> TierCall:
        """The call, after waiting for a free slot when the tier has max_in_flight (the wait is its queue_ms; the
        slot is held through the call's retries, so a one-slot server is not sent another request meanwhile)."""
        if self.tier.max_in_flight is None:
            return await self._acall(messages, options)
        running = asyncio.get_running_loop()
        if self._loop_slots is None or self._loop_slots[0] is not running:
            self._loop_slots = (running, asyncio.Semaphore(self.tier.max_in_flight))
        slots, waited = self._loop_slots[1], time.perf_counter()
        try:
            await slots.acquire()
        except asyncio.CancelledError:  # nothing sent, but the run's earlier calls must still be logged
            failure = Failure("cancelled", f"{self.host}: cancelled by the server's shutdown while waiting for a "
                              "free slot (nothing was sent)", retryable=False)
            raise CallCancelled(failed_call(self.tier, messages, failure, (time.perf_counter() - waited) * 1000,
                                            Attempts())) from None
        try:
            queued_ms = (time.perf_counter() - waited) * 1000
            return dataclasses.replace(await self._acall(messages, options), queue_ms=queued_ms)
        finally:
            slots.release()

    def _call(self, messages: list[dict[str, str]], options: RequestOptions) -> TierCall:
        loop = self._attempt_loop(messages, options)
        try:
            step = next(loop)
            while True:
                if not isinstance(step, dict):
                    time.sleep(step)
                    step = loop.send(None)
                    continue
                try:
                    sent: Any = self.sync_client.chat.completions.with_raw_response.create(**sdk_arguments(step))
                except Exception as err:
                    sent = err
                step = loop.send(sent)
        except StopIteration as done:
            return cast(TierCall, done.value)

    async def _acall(self, messages: list[dict[str, str]], options: RequestOptions) -> TierCall:
        loop = self._attempt_loop(messages, options)
        try:
            step = next(loop)
            while True:
                sent: Any = None
                try:
                    if isinstance(step, dict):
                        try:
                            create = self.async_client.chat.completions.with_raw_response.create
                            sent = await create(**sdk_arguments(step))
                        except Exception as err:  # not CancelledError: that is a BaseException
                            sent = err
                    else:
                        await asyncio.sleep(step)
                except asyncio.CancelledError:
                    loop.throw(asyncio.CancelledError())  # raises CallCancelled with the call so far
                    raise
                step = loop.send(sent)
        except StopIteration as done:
            return cast(TierCall, done.value)

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
