"""The `[simulator]` section of `cascade.toml`: the embedded simulator's fault knobs and server quirks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SIMULATOR_FAULT_KNOBS = ("error_rate", "rate_limit_rate", "malformed_rate", "truncate_rate", "latency_ms",
                         "html_body_rate", "empty_body_rate", "cut_body_rate", "placeholder_rate", "judge_flip_rate",
                         "mistyped_body_rate", "reset_body_rate", "trickle_ms", "error_body_rate",
                         "gateway_error_rate", "proxy_fallback_rate")
# Simulator settings added after fingerprints and cache identities were first stored: left out of both while
# they hold their default, so existing runs and cached answers keep their identity.
LATER_SIMULATOR_DEFAULTS: dict[str, Any] = {
    "html_body_rate": 0.0, "empty_body_rate": 0.0, "cut_body_rate": 0.0, "placeholder_rate": 0.0,
    "judge_flip_rate": 0.0,
    "logprobs_need_top": False, "logprobs_supported": True, "omit_usage": False, "single_slot": False,
    "omit_finish_reason": False, "refuse_formats": [], "constrained_decoding": False,
    "mistyped_body_rate": 0.0, "content_parts": False, "garbled_fields": False, "reasoning": "none",
    "reset_body_rate": 0.0, "error_body_rate": 0.0, "gateway_error_rate": 0.0,
    "proxy_fallback_rate": 0.0, "proxy_cost_header": False,
}


class SimulatorConfig(BaseModel):
    """Knobs of the embedded simulator (used only by tiers whose base_url is 'embedded')."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # no inf/NaN prices, timeouts, backoffs

    seed: int = 0
    latency_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after: float = Field(default=0.05, ge=0)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    truncate_rate: float = Field(default=0.0, ge=0, le=1)
    # HTTP 200 bodies that are not chat completions, as gateways and broken proxies send them.
    html_body_rate: float = Field(default=0.0, ge=0, le=1)  # a text/html page
    empty_body_rate: float = Field(default=0.0, ge=0, le=1)  # {}
    cut_body_rate: float = Field(default=0.0, ge=0, le=1)  # the JSON cut off mid-way
    # a chat completion whose message is a string, or whose content is a number or an object (the SDK passes
    # such bodies through unvalidated)
    mistyped_body_rate: float = Field(default=0.0, ge=0, le=1)
    # HTTP 200 and half the completion's body, then the connection is dropped (a proxy or server dying mid-reply)
    reset_body_rate: float = Field(default=0.0, ge=0, le=1)
    # HTTP 200 with {"error": {...}} and no choices, as LiteLLM and OpenRouter send upstream failures
    error_body_rate: float = Field(default=0.0, ge=0, le=1)
    gateway_error_rate: float = Field(default=0.0, ge=0, le=1)  # HTTP 502 with a proxy's HTML page (nginx)
    # the reply says a LiteLLM proxy fell back to another model (x-litellm-attempted-fallbacks, model group, model)
    proxy_fallback_rate: float = Field(default=0.0, ge=0, le=1)
    trickle_ms: float = Field(default=0.0, ge=0)  # >0: the body is sent in 8 pieces this far apart, headers first
    placeholder_rate: float = Field(default=0.0, ge=0, le=1)  # the answer echoes the prompt's placeholder
    judge_flip_rate: float = Field(default=0.0, ge=0, le=1)  # the audit judge says correct for incorrect and back
    logprobs_need_top: bool = False  # as llama.cpp's server: logprobs only when top_logprobs >= 1 is sent
    logprobs_supported: bool = True  # false: never any logprobs, whatever the request asks
    omit_usage: bool = False  # no `usage` in replies (the client then estimates tokens)
    content_parts: bool = False  # content as a list of text parts ([{"type": "text", "text": ...}])
    garbled_fields: bool = False  # usage counts negative or strings, logprobs a bare list (broken proxies)
    # A reasoning model's thinking, holding a wrong draft answer: "inline" a <think> block before the content
    # (llama.cpp --reasoning-format none, Ollama), "field" in message.reasoning_content (llama.cpp's default,
    # vLLM), "field_only" the whole reply there and the content empty (the answer never left the reasoning).
    reasoning: Literal["none", "inline", "field", "field_only"] = "none"
    omit_finish_reason: bool = False  # finish_reason null in replies (some servers and proxies)
    single_slot: bool = False  # one request at a time per model, the others queue (a one-slot server)
    ratelimit_requests: int = Field(default=0, ge=0)  # >0: requests per model per second, sent as x-ratelimit-*
    report_cost: bool = False  # put usage.cost (USD at the built-in list price) in every response
    # as a LiteLLM proxy: the call's cost (USD at the built-in list price) in an x-litellm-response-cost header
    proxy_cost_header: bool = False
    # response_format types answered with HTTP 400 (older llama.cpp/Ollama builds, some gateways): e.g. ["json_schema"]
    refuse_formats: list[Literal["json_schema", "json_object"]] = Field(default_factory=list)
    # As vLLM, llama.cpp, NIM and OpenAI do with a json_schema response_format: the malformed knob then cannot
    # garble a reply (off by default: the knob stands for servers that ignore the schema).
    constrained_decoding: bool = False
    # Per-model overrides of the knobs above, e.g. {"sim-llama-3.1-8b": {"error_rate": 1.0}}.
    faults_by_model: dict[str, dict[str, float]] = Field(default_factory=dict)

    def answer_settings(self) -> dict[str, Any]:
        """The settings that change answers (not latency or queueing), without later knobs at their default."""
        data = self.model_dump(exclude={"latency_ms", "trickle_ms", "single_slot", "ratelimit_requests"})
        for name, default in LATER_SIMULATOR_DEFAULTS.items():
            if name in data and data[name] == default:
                del data[name]
        return data

    @field_validator("faults_by_model")
    @classmethod
    def _known_faults(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, knobs in value.items():
            for key, number in knobs.items():
                if key not in SIMULATOR_FAULT_KNOBS:
                    known = ", ".join(SIMULATOR_FAULT_KNOBS)
                    raise ValueError(f"{model}: unknown knob {key!r}, expected one of {known}")
                if number < 0 or (key.endswith("_rate") and number > 1):
                    raise ValueError(f"{model}.{key}: expected a rate in [0, 1] or a latency >= 0, got {number}")
        return value
