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
from datetime import datetime
from typing import Any

import pandas as pd

from cascade_core.audit.judge import JUDGE_OPTIONS, JudgeReply, judge_messages, judge_tier, parse_judge_reply
from cascade_core.audit.params import AuditParams
from cascade_core.audit.sampler import stratified_sample
from cascade_core.cascade.client import TierClient
from cascade_core.cascade.grading import grade, infer_answer_type
from cascade_core.cascade.runtime import Runtime
from cascade_core.clock import utc_now
from cascade_core.records import TierCall
from cascade_core.security.pii import redact_pii
from cascade_core.store import audits as sql
from cascade_core.store.intents import InFlight, clear_intents, record_intents, take_in_flight
from cascade_core.store.store import Store
from cascade_core.telemetry.exporter import Tracing


@dataclass
class Judge:
    """A judge model behind one TierClient; `grade` never raises (a failed call comes back in the TierCall)."""

    client: TierClient
    redact: tuple[str, ...] = ()  # personal data replaced in the stored judge prompt and reply (config [privacy])
    calls: int = field(default=0, init=False)
    in_flight: InFlight | None = field(default=None, init=False)  # left by a killed earlier judging of the audit
    tracing: Tracing | None = field(default=None, init=False)  # judge calls as spans, when OTEL_* asks for them

    @property
    def model(self) -> str:
        return self.client.tier.model

    def grade(self, question: str, answer: str | None, gold: str | None) -> tuple[TierCall, JudgeReply | None]:
        self.calls += 1
        call = self.client.call(judge_messages(question, answer, gold), JUDGE_OPTIONS)
        return call, (parse_judge_reply(call.answer_text) if call.ok else None)


def make_judge(runtime: Runtime) -> Judge:
    """The configured judge tier (default: the last tier, reusing its client)."""
    config = runtime.config
    tier = judge_tier(config)
    redact = tuple(config.privacy.redact)
    if config.judge is None:
        judge = Judge(runtime.clients[-1], redact)
        judge.tracing = Tracing.from_env()
        return judge
    if tier.is_embedded:
        if runtime.simulator is None:
            raise ValueError("the judge tier is 'embedded' but no cascade tier runs on the embedded simulator")
        base_url = runtime.simulator.base_url
    else:
        base_url = tier.base_url
    judge = Judge(TierClient(tier, base_url, config.retry, seed=len(config.tiers)), redact)
    judge.tracing = Tracing.from_env()
    return judge


class NothingToAudit(ValueError):
    """No answer in the window is eligible for an audit; the message says why. Nothing was saved."""


def why_nothing_to_audit(store: Store, start: datetime, end: datetime, params: AuditParams, volume: int) -> str:
    """Why a window holds no eligible answer: no runs, runs of other sources only, nothing accepted early, or
    everything already audited."""
    span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    wanted = " or ".join(params.sources)
    if volume:
        return (f"Nothing to audit: all {volume:,} answers that a non-final tier accepted from {span} were audited "
                "before. Re-audit them on purpose (the page's 'Re-audit answers audited before', the CLI's "
                "--include-audited) or widen the window.")
    by_source = sql.runs_by_source(store, start, end)
    if not by_source:
        return (f"Nothing to audit: no runs were logged from {span}. An audit judges answers from {wanted} runs; "
                "run some queries (or serve traffic) first, or widen the window.")
    others = ", ".join(f"{n:,} {src}" for src, n in by_source.items() if src not in params.sources)
    mine = sum(n for src, n in by_source.items() if src in params.sources)
    if not mine:
        return (f"Nothing to audit: the runs from {span} ({others}) come from other sources; an audit judges "
                f"answers from {wanted} runs.")
    return (f"Nothing to audit: of {mine:,} {wanted} runs from {span}, no answer was accepted by a non-final "
            "tier (every run escalated to the last tier, or failed), and the last tier's answers are not audited."
            + (f" Runs of other sources: {others}." if others else ""))


def start_audit(store: Store, judge: Judge, params: AuditParams, *, now: datetime | None = None) -> str:
    """Sample the window and record the audit with its pending items. Returns the audit id.

    Raises NothingToAudit (and saves nothing) when the window holds no eligible answer."""
    end = params.until or now or utc_now()
    start = end - params.since
    volume, any_simulated = sql.accepted_volume(store, start, end, params.sources)  # a count, not the rows
    candidates = sql.accepted_steps(store, start, end, params.sources, exclude_audited=not params.include_audited)
    if candidates.empty:
        raise NothingToAudit(why_nothing_to_audit(store, start, end, params, volume))
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


def judgement_values(item: dict[str, Any], call: TierCall, reply: JudgeReply | None,
                     redact: tuple[str, ...] = ()) -> dict[str, Any]:
    """The audit_items columns one judge call fills in (`redact`: kinds of personal data replaced in them)."""
    messages = [{**m, "content": redact_pii(m.get("content"), redact) or ""} for m in call.messages]
    values: dict[str, Any] = {
        "judge_prompt": json.dumps(messages, ensure_ascii=False),
        "judge_output": redact_pii(call.raw_output, redact),
        "judge_tokens_in": call.tokens_in, "judge_tokens_out": call.tokens_out, "judge_cost": call.cost,
        "judge_cost_source": call.cost_source, "judge_latency_ms": call.latency_ms,
        "judge_error": redact_pii(call.error, redact),
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
    return {**values, "status": "judged", "verdict": reply.verdict, "rationale": redact_pii(reply.rationale, redact),
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
    owner = f"audit:{audit_id}"
    judge.in_flight = take_in_flight(store, owner)  # judge calls a kill -9 left unanswered: possibly paid twice

    def key(item: dict[str, Any]) -> str:
        return f"{item['run_id']}/{int(item['step_index'])}"

    def save(item: dict[str, Any], future: Future[Any]) -> None:
        call, reply = future.result()
        if judge.tracing is not None:
            judge.tracing.record_judge(call, run_id=str(item["run_id"]), audit_id=audit_id,
                                       verdict=reply.verdict if reply is not None else None)
        sql.save_judgement(store, audit_id, item["run_id"], int(item["step_index"]),
                           judgement_values(item, call, reply, judge.redact))
        store.write(lambda con: clear_intents(con, owner, [key(item)]))

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="audit-judge")
    running: dict[Future[Any], dict[str, Any]] = {}
    queue = list(reversed(items))
    try:
        while queue or running:
            starting = [queue.pop() for _ in range(min(len(queue), max(1, concurrency) - len(running)))]
            # Recorded before the calls are sent: a resumed audit can tell which were in flight at a kill -9.
            record_intents(store, [{"owner": owner, "request_key": key(item), "item_id": key(item),
                                    "tier_name": judge.client.tier.name, "model": judge.model,
                                    "started_at": utc_now()} for item in starting])
            for item in starting:
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
