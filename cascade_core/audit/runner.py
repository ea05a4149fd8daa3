"""Run an audit: sample accepted answers into the store, then judge them one by one (resumable).

Each verdict is written as soon as it arrives, so an interrupted audit keeps every finished item and
`judge_audit` on the same audit id judges only what is left.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from cascade_core.audit.judge import JUDGE_OPTIONS, JudgeReply, judge_messages, judge_tier, parse_judge_reply
from cascade_core.audit.sampler import stratified_sample
from cascade_core.cascade.client import TierClient
from cascade_core.cascade.grading import grade, infer_answer_type
from cascade_core.cascade.runtime import Runtime
from cascade_core.clock import utc_now
from cascade_core.records import TierCall
from cascade_core.store import audits as sql
from cascade_core.store.store import Store

DEFAULT_SOURCES: tuple[str, ...] = ("query", "api")  # answers served to people; sweeps are experiments


@dataclass(frozen=True)
class AuditParams:
    """What to audit. The window is [until - since, until); until defaults to now (naive UTC)."""

    since: timedelta = timedelta(days=7)
    until: datetime | None = None
    sample: int = 50
    seed: int = 0
    alert_rate: float = 0.1
    include_audited: bool = False
    sources: tuple[str, ...] = DEFAULT_SOURCES

    def __post_init__(self) -> None:
        if self.sample <= 0:
            raise ValueError(f"sample must be positive, got {self.sample}")
        if not 0.0 <= self.alert_rate <= 1.0:
            raise ValueError(f"alert rate must be in [0, 1], got {self.alert_rate}")
        if self.since <= timedelta(0):
            raise ValueError(f"the window must be positive, got {self.since}")


@dataclass
class Judge:
    """A judge model behind one TierClient; `grade` never raises (a failed call comes back in the TierCall)."""

    client: TierClient
    calls: int = field(default=0, init=False)

    @property
    def model(self) -> str:
        return self.client.tier.model

    def grade(self, question: str, answer: str | None, gold: str | None) -> tuple[TierCall, JudgeReply | None]:
        self.calls += 1
        call = self.client.call(judge_messages(question, answer, gold), JUDGE_OPTIONS)
        return call, (parse_judge_reply(call.raw_output) if call.ok else None)


def make_judge(runtime: Runtime) -> Judge:
    """The configured judge tier (default: the last tier, reusing its client)."""
    config = runtime.config
    tier = judge_tier(config)
    if config.judge is None:
        return Judge(runtime.clients[-1])
    if tier.is_embedded:
        if runtime.simulator is None:
            raise ValueError("the judge tier is 'embedded' but no cascade tier runs on the embedded simulator")
        base_url = runtime.simulator.base_url
    else:
        base_url = tier.base_url
    return Judge(TierClient(tier, base_url, config.retry, seed=len(config.tiers)))


def start_audit(store: Store, judge: Judge, params: AuditParams, *, now: datetime | None = None) -> str:
    """Sample the window and record the audit with its pending items. Returns the audit id."""
    end = params.until or now or utc_now()
    start = end - params.since
    volume, any_simulated = sql.accepted_volume(store, start, end, params.sources)  # a count, not the rows
    candidates = sql.accepted_steps(store, start, end, params.sources, exclude_audited=not params.include_audited)
    sample = stratified_sample(candidates, params.sample, params.seed) if not candidates.empty else candidates
    if sample.empty:
        sample = pd.DataFrame(columns=[*candidates.columns, "confidence_level"])
    audit_id = f"{end:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    tier = judge.client.tier
    sql.create_audit(store, {
        "audit_id": audit_id, "created_at": now or utc_now(), "finished_at": None, "status": "running",
        "window_start": start, "window_end": end, "sample_size": params.sample, "seed": params.seed,
        "include_audited": params.include_audited, "sources": json.dumps(list(params.sources)),
        "alert_rate": params.alert_rate, "judge_tier": tier.name, "judge_model": tier.model,
        "judge_endpoint": judge.client.base_url, "accepted_volume": volume, "candidates": len(candidates),
        "simulated": any_simulated if volume else tier.is_embedded,
    }, sample)
    return audit_id


def judgement_values(item: dict[str, Any], call: TierCall, reply: JudgeReply | None) -> dict[str, Any]:
    """The audit_items columns one judge call fills in."""
    values: dict[str, Any] = {
        "judge_prompt": json.dumps(call.messages, ensure_ascii=False), "judge_output": call.raw_output,
        "judge_tokens_in": call.tokens_in, "judge_tokens_out": call.tokens_out, "judge_cost": call.cost,
        "judge_cost_source": call.cost_source, "judge_latency_ms": call.latency_ms, "judge_error": call.error,
        "judged_at": utc_now(),
    }
    if reply is None:
        return {**values, "status": "error"}
    confidence, threshold = item.get("confidence"), item.get("threshold")
    at_or_above = (confidence is not None and threshold is not None and not pd.isna(confidence)
                   and not pd.isna(threshold) and float(confidence) >= float(threshold))
    key_correct = key_grade(_clean(item.get("answer")), _clean(item.get("gold")))
    # With an answer key the key is the truth and the verdict measures the judge; without one the verdict decides.
    wrong = (key_correct is False) if key_correct is not None else reply.verdict == "incorrect"
    disagrees = (None if key_correct is None or reply.verdict == "unsure"
                 else (reply.verdict == "correct") != key_correct)
    return {**values, "status": "judged", "verdict": reply.verdict, "rationale": reply.rationale,
            "parse_error": reply.parse_error, "overconfident": wrong and at_or_above, "key_correct": key_correct,
            "judge_disagrees": disagrees}


def key_grade(answer: str | None, gold: str | None) -> bool | None:
    """The answer graded against its gold answer, or None when the run has no gold answer."""
    if gold is None or not str(gold).strip():
        return None
    return grade(answer, str(gold), infer_answer_type(str(gold)))


def _clean(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def judge_audit(store: Store, judge: Judge, audit_id: str, *, concurrency: int = 4,
                on_item: Callable[[int, int], None] | None = None) -> int:
    """Judge every unfinished item of an audit; returns how many were judged now.

    `on_item(done, total)` runs after each saved item (progress bars; tests interrupt from it). On any
    interruption, calls already in flight are awaited and saved, the rest are left pending.
    """
    if sql.get_audit(store, audit_id) is None:
        raise ValueError(f"no audit with id {audit_id!r}")
    items = [{k: _clean(v) for k, v in row.items()} for row in sql.unfinished_items(store, audit_id).to_dict("records")]
    total, done = len(items), 0
    _ = judge.client.sync_client  # build the SDK client once, before the worker threads share it

    def save(item: dict[str, Any], future: Future[Any]) -> None:
        call, reply = future.result()
        sql.save_judgement(store, audit_id, item["run_id"], int(item["step_index"]),
                           judgement_values(item, call, reply))

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="audit-judge")
    running: dict[Future[Any], dict[str, Any]] = {}
    queue = list(reversed(items))
    try:
        while queue or running:
            while queue and len(running) < max(1, concurrency):
                item = queue.pop()
                running[pool.submit(judge.grade, item["question"], item["answer"], item["gold"])] = item
            finished, _pending = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                save(running.pop(future), future)
                done += 1
                if on_item is not None:
                    on_item(done, total)
    except BaseException:
        for future in wait(running).done:  # keep what the judge already answered
            save(running.pop(future), future)
        sql.set_status(store, audit_id, "interrupted")
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    left = len(sql.unfinished_items(store, audit_id))
    # 'incomplete': some judge calls failed; judging the audit again retries just those.
    sql.set_status(store, audit_id, "done" if left == 0 else "incomplete", utc_now() if left == 0 else None)
    return done
