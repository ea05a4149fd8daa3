"""Semantic routing before the cascade: a question close in meaning to a route's examples starts at the route's
tier (skipping the cheaper ones) or goes to the route's own model; anything else walks the cascade as before.

A route's score is the highest cosine similarity between the question and its examples (both embedded with the
same model); the best-scoring route is taken when its score reaches that route's threshold.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cascade_core.cascade.client import CallCancelled, TierClient
from cascade_core.cascade.decisions import decide, read_confidence
from cascade_core.cascade.routes_config import RouteConfig
from cascade_core.cascade.signals.registry import get_signal
from cascade_core.cascade.walk import CANCELLED, Cascade, RunCancelled, RunFailed, internal_error
from cascade_core.records import Confidence, Source, Step, Trace
from cascade_core.routing.embeddings import Embedder, EmbeddingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteMatch:
    """What the router decided for one question."""

    name: str | None  # the route taken; None: no route reached its threshold, the cascade runs from its start
    closest: str | None  # the best-scoring route, taken or not
    similarity: float | None  # the closest route's score
    scores: dict[str, float]
    embed_ms: float
    error: str | None = None  # the question could not be embedded: no route, the cascade from its start

    def meta(self, start: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "closest": self.closest, "similarity": self.similarity,
                               "start": start, "embed_ms": round(self.embed_ms, 3)}
        if self.error:
            out["error"] = self.error
        return out


def unrouted(error: str, started: float) -> RouteMatch:
    return RouteMatch(None, None, None, {}, (time.perf_counter() - started) * 1000, error)


def route_scores(question_vec: np.ndarray, example_vecs: list[np.ndarray], names: list[str]) -> dict[str, float]:
    """Per route, the highest cosine between the question and the route's examples (vectors are normalised)."""
    return {name: float(np.max(ex @ question_vec)) for name, ex in zip(names, example_vecs, strict=True)}


def pick_route(scores: dict[str, float], routes: list[RouteConfig]) -> tuple[str | None, str | None, float | None]:
    """(taken, closest, its score): the best route, taken when it reaches its own threshold."""
    if not scores:
        return None, None, None
    closest = max(scores, key=lambda n: scores[n])
    threshold = next(r.threshold for r in routes if r.name == closest)
    return (closest if scores[closest] >= threshold else None), closest, scores[closest]


class Router:
    """Scores questions against the routes' examples; the examples are embedded once, on first use."""

    def __init__(self, routes: list[RouteConfig], embedder: Embedder) -> None:
        self.routes = routes
        self.embedder = embedder
        self._examples: list[np.ndarray] | None = None
        self._lock = threading.Lock()

    def _split(self, matrix: np.ndarray) -> list[np.ndarray]:
        out, at = [], 0
        for route in self.routes:
            out.append(matrix[at:at + len(route.examples)])
            at += len(route.examples)
        return out

    def _all_examples(self) -> list[str]:
        return [text for route in self.routes for text in route.examples]

    def prepare(self) -> None:
        """Embed the examples now (the endpoint does it at startup, not on its first request)."""
        with self._lock:
            if self._examples is None:
                self._examples = self._split(self.embedder.embed(self._all_examples()))

    async def aprepare(self) -> None:
        if self._examples is None:
            examples = self._split(await self.embedder.aembed(self._all_examples()))
            with self._lock:
                self._examples = examples

    def _decide(self, vec: np.ndarray, started: float) -> RouteMatch:
        assert self._examples is not None
        scores = route_scores(vec, self._examples, [r.name for r in self.routes])
        taken, closest, similarity = pick_route(scores, self.routes)
        return RouteMatch(taken, closest, similarity, scores, (time.perf_counter() - started) * 1000)

    def match(self, question: str) -> RouteMatch:
        started = time.perf_counter()
        self.prepare()
        return self._decide(self.embedder.embed([question])[0], started)

    async def amatch(self, question: str) -> RouteMatch:
        started = time.perf_counter()
        await self.aprepare()
        return self._decide((await self.embedder.aembed([question]))[0], started)


class RoutedCascade:
    """The cascade behind a router: same `run` / `arun` as Cascade, with the route recorded in trace.meta."""

    def __init__(self, cascade: Cascade, router: Router, route_clients: dict[str, TierClient]) -> None:
        self.cascade = cascade
        self.router = router
        self.route_clients = route_clients  # route name -> client of the route's separate model
        self.config = cascade.config
        self.clients = cascade.clients
        self.fingerprint = cascade.fingerprint
        names = [t.name for t in cascade.config.tiers]
        self._start = {r.name: names.index(r.tier) for r in router.routes if r.tier is not None}
        # Who answers alone: a route's own model (indexed after the tiers), or a tier that may not escalate.
        own = [r.name for r in router.routes if r.model is not None]
        self._model_index = {name: len(names) + i for i, name in enumerate(own)}
        for route in router.routes:
            if route.tier is not None and not route.escalate:
                self._model_index[route.name] = self._start[route.name]
                self.route_clients[route.name] = cascade.clients[self._start[route.name]]

    def _start_label(self, match: RouteMatch) -> str:
        if match.name is None:
            return self.config.tiers[0].name
        if match.name in self._start:
            alone = " (alone)" if match.name in self.route_clients else ""
            return self.config.tiers[self._start[match.name]].name + alone
        return f"model:{self.route_clients[match.name].tier.model}"

    def run(self, question: str, *, item: Any = None, source: Source = "query", dataset: str | None = None,
            thresholds: list[float] | None = None) -> Trace:
        started = time.perf_counter()
        try:
            match = self.router.match(question)
        except EmbeddingError as err:  # routing is an optimisation: without it the cascade still answers
            match = unrouted(str(err), started)
        alone = match.name is not None and match.name in self.route_clients
        route = match.meta(self._start_label(match)) | ({"alone": True} if alone else {})
        try:
            if alone and match.name is not None:
                trace = self._single(question, match.name, item, source, dataset, thresholds)
            else:
                trace = self.cascade.run(question, item=item, source=source, dataset=dataset, thresholds=thresholds,
                                         start=self._start.get(match.name or "", 0))
        except RunFailed as failed:
            failed.trace.meta["route"] = route
            raise
        trace.meta["route"] = route
        return trace

    async def arun(self, question: str, *, item: Any = None, source: Source = "query", dataset: str | None = None,
                   thresholds: list[float] | None = None) -> Trace:
        started = time.perf_counter()
        try:
            match = await self.router.amatch(question)
        except EmbeddingError as err:
            log.warning("routing skipped: %s", err)
            match = unrouted(str(err), started)
        alone = match.name is not None and match.name in self.route_clients
        route = match.meta(self._start_label(match)) | ({"alone": True} if alone else {})
        try:
            if alone and match.name is not None:
                trace = await self._asingle(question, match.name, item, source, dataset, thresholds)
            else:
                trace = await self.cascade.arun(question, item=item, source=source, dataset=dataset,
                                                thresholds=thresholds, start=self._start.get(match.name or "", 0))
        except (RunCancelled, RunFailed) as stopped:
            stopped.trace.meta["route"] = route
            raise
        trace.meta["route"] = route
        return trace

    # -- a route's separate model answers alone -------------------------------------------------------------
    def _step(self, name: str, call: Any) -> Step:
        client = self.route_clients[name]
        confidence = read_confidence(self.config.signal, call)
        decision, reason = decide(call, None, confidence, None)
        return Step(tier_index=self._model_index[name], tier_name=client.tier.name, model=client.tier.model,
                    endpoint=client.base_url, call=call, confidence=confidence, threshold=None, decision=decision,
                    reason=f"route {name!r} sends it to {client.tier.name!r} alone; {reason}")

    def _answered(self, trace: Trace, name: str, call: Any, started: float) -> Step:
        """The route's step for `call`; a fault of ours while reading it still logs and charges the call."""
        try:
            return self._step(name, call)
        except Exception as err:
            what, error = internal_error(trace, err)
            client = self.route_clients[name]
            trace.steps = [Step(tier_index=self._model_index[name], tier_name=client.tier.name,
                                model=client.tier.model, endpoint=client.base_url, call=call,
                                confidence=Confidence(None, None, None), threshold=None, decision="error",
                                reason=f"the cascade failed while handling this model's reply ({what})")]
            raise RunFailed(self.cascade._close(trace, error, started)) from err

    def _single(self, question: str, name: str, item: Any, source: Source, dataset: str | None,
                thresholds: list[float] | None) -> Trace:
        started = time.perf_counter()
        trace = self.cascade._new_trace(question, item, source, dataset, thresholds)
        signal = get_signal(self.config.signal)
        call = self.route_clients[name].call(signal.messages(question), signal.options)
        trace.steps = [self._answered(trace, name, call, started)]
        return self.cascade._finish(trace, item, started)

    async def _asingle(self, question: str, name: str, item: Any, source: Source, dataset: str | None,
                       thresholds: list[float] | None) -> Trace:
        started = time.perf_counter()
        trace = self.cascade._new_trace(question, item, source, dataset, thresholds)
        signal = get_signal(self.config.signal)
        try:
            call = await self.route_clients[name].acall(signal.messages(question), signal.options)
        except CallCancelled as cancelled:
            trace.steps = [self._step(name, cancelled.call)]
            trace.error, trace.meta["cancelled"] = CANCELLED, True
            raise RunCancelled(trace) from None
        trace.steps = [self._answered(trace, name, call, started)]
        return self.cascade._finish(trace, item, started)
