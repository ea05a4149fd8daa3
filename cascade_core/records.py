"""Small typed result records shared by every module: TierCall, Step, Trace."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from cascade_core.reasoning import answer_part

Decision = Literal["accepted", "escalated", "error", "final"]
# usage.cost: the reply's body says it; proxy_header: a proxy's x-litellm-response-cost header says it
CostSource = Literal["usage.cost", "proxy_header", "price_table", "estimated", "none"]
COST_SOURCES: tuple[CostSource, ...] = ("usage.cost", "proxy_header", "price_table", "estimated", "none")


def as_cost_source(value: object) -> CostSource:
    """A stored cost_source read back; anything unknown is "none"."""
    return next((source for source in COST_SOURCES if source == value), "none")
Source = Literal["query", "sweep", "audit", "api"]
# The confidence signals (cascade/signals/registry.py holds one Signal per name and checks they agree).
SignalName = Literal["self_rated", "logprob", "verify"]
# What went wrong with a call: cascade/endpoint_errors.py names every endpoint failure with one of these.
ErrorKind = Literal["rate_limit", "server", "timeout", "refused", "dns", "tls", "connection", "auth",
                    "bad_request", "bad_response", "cancelled", "other"]


@dataclass(frozen=True)
class TierCall:
    """One HTTP chat-completion call (after retries) to one tier."""

    tier_name: str
    model: str
    messages: list[dict[str, str]]
    raw_output: str = ""
    finish_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_source: CostSource = "none"  # of the answering attempt; "estimated": the endpoint sent no usage
    latency_ms: float = 0.0
    attempts: int = 1
    error: str | None = None
    error_kind: ErrorKind | None = None
    logprobs: list[tuple[str, float]] | None = None
    simulated: bool = False
    # Attempts that may have been billed upstream but gave nothing usable (timed out, cut-off body): their
    # estimated tokens (prompt, plus max_tokens as the upper bound of the reply) are charged in `cost`.
    lost_attempts: int = 0
    lost_tokens_in: int = 0
    lost_tokens_out: int = 0
    estimated_cost: float = 0.0  # the part of `cost` that is an estimate (lost attempts, replies without usage)
    queue_ms: float = 0.0  # time waiting for a free slot at the endpoint, not counted in latency_ms
    attempt_log: tuple[dict[str, Any], ...] = ()  # one entry per attempt: n, outcome, kind, latency_ms
    ratelimit_remaining: int | None = None  # x-ratelimit-remaining-requests of the answering reply, when sent
    served_by: str | None = None  # the model that answered instead, when a proxy says it fell back (LiteLLM)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answer_text(self) -> str:
        """raw_output after the model's reasoning (<think> ...), the only part parsers read as an answer."""
        return answer_part(self.raw_output)


@dataclass(frozen=True)
class Confidence:
    """A parsed answer with its confidence, raw (as the model gave it) and normalised to [0, 1]."""

    answer: str | None
    raw: float | None
    normalised: float | None
    parse_error: str | None = None


@dataclass(frozen=True)
class Step:
    """What one tier did inside a cascade run: its answer call, optional verify call, and the decision."""

    tier_index: int
    tier_name: str
    model: str
    endpoint: str
    call: TierCall
    confidence: Confidence
    threshold: float | None  # None for the last tier, which always answers
    decision: Decision
    reason: str
    verify_call: TierCall | None = None

    @property
    def cost(self) -> float:
        return self.call.cost + (self.verify_call.cost if self.verify_call else 0.0)

    @property
    def tokens_in(self) -> int:
        return self.call.tokens_in + (self.verify_call.tokens_in if self.verify_call else 0)

    @property
    def tokens_out(self) -> int:
        return self.call.tokens_out + (self.verify_call.tokens_out if self.verify_call else 0)

    @property
    def latency_ms(self) -> float:
        return self.call.latency_ms + (self.verify_call.latency_ms if self.verify_call else 0.0)

    @property
    def error(self) -> str | None:
        return self.call.error or (self.verify_call.error if self.verify_call else None)


@dataclass
class Trace:
    """A whole cascade run: every step in order, the final answer and the accounting."""

    run_id: str
    created_at: datetime
    question: str
    source: Source
    signal: SignalName
    config_fingerprint: str
    steps: list[Step] = field(default_factory=list)
    final_answer: str | None = None
    final_tier: str | None = None
    final_tier_index: int | None = None
    final_confidence: float | None = None
    always_large_cost: float = 0.0
    always_large_estimated: bool = False
    error: str | None = None  # set when no tier could answer
    fallback: str | None = None  # set when the best earlier answer was served instead (config fallback_to_earlier)
    final_finish_reason: str | None = None  # the answering call's finish_reason, as its endpoint sent it
    item_id: str | None = None
    dataset: str | None = None
    category: str | None = None
    gold: str | None = None
    correct: bool | None = None
    overhead_ms: float = 0.0  # the cascade's own work, model calls excluded
    meta: dict[str, Any] = field(default_factory=dict)
    # Kinds of personal data replaced by placeholders when the run is stored (config [privacy] redact); the
    # trace itself keeps the original text, which the tiers saw and the caller gets back.
    redact: tuple[str, ...] = ()

    @property
    def total_cost(self) -> float:
        return sum(s.cost for s in self.steps)

    @property
    def tokens_in(self) -> int:
        return sum(s.tokens_in for s in self.steps)

    @property
    def tokens_out(self) -> int:
        return sum(s.tokens_out for s in self.steps)

    @property
    def latency_ms(self) -> float:
        return sum(s.latency_ms for s in self.steps)

    @property
    def escalations(self) -> int:
        # A failed non-final tier escalates; a failed last tier ends the run, it escalates nowhere.
        return sum(1 for s in self.steps
                   if s.decision == "escalated" or (s.decision == "error" and s.threshold is not None))

    @property
    def simulated(self) -> bool:
        return any(s.call.simulated for s in self.steps)

    @property
    def savings(self) -> float:
        return self.always_large_cost - self.total_cost

    @property
    def route(self) -> str | None:
        """The semantic route that took this question (kept in meta["route"]); None when none matched."""
        info = self.meta.get("route")
        return info.get("name") if isinstance(info, dict) else None

    @property
    def route_similarity(self) -> float | None:
        """Cosine similarity to the closest route's examples (whether or not it matched)."""
        info = self.meta.get("route")
        value = info.get("similarity") if isinstance(info, dict) else None
        return float(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["total_cost"] = self.total_cost
        data["tokens_in"] = self.tokens_in
        data["tokens_out"] = self.tokens_out
        data["latency_ms"] = self.latency_ms
        data["simulated"] = self.simulated
        data["route"] = self.route
        data["route_similarity"] = self.route_similarity
        return data
