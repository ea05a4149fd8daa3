"""`POST /v1/embeddings` for the simulator: deterministic hashed bag-of-words vectors (simulated, not semantic).

Texts sharing words get high cosine similarity, which is enough to exercise routing over the real OpenAI wire
protocol in tests without a model. Counted in /sim/stats like chat calls.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cascade_core.simulator import faults
from cascade_core.wire.errors import ApiError, read_json

EMBED_MODEL = "sim-embed-hash"
DIM = 256


def hashed_vector(text: str, dim: int = DIM) -> list[float]:
    """Unit vector of signed hashed word unigrams and character trigrams."""
    vec = [0.0] * dim
    words = re.findall(r"\w+", text.lower())
    grams = words + [w[i:i + 3] for w in words for i in range(max(1, len(w) - 2))]
    for gram in grams:
        digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vec[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def _inputs(body: Any) -> list[str]:
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object")
    if body.get("model") != EMBED_MODEL:
        raise ApiError(404, f"The model `{body.get('model')}` does not exist (simulated embedding model: "
                       f"{EMBED_MODEL})", param="model", code="model_not_found")
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "input: expected a string or a non-empty list of strings", param="input")
    return texts


async def embeddings_endpoint(request: Request) -> Response:
    state = request.app.state.sim
    try:
        texts = _inputs(await read_json(request))
    except ApiError as err:
        state.count_event("rejected")
        return err.response()
    state.count_call(EMBED_MODEL)
    fault = faults.draw(state.settings, EMBED_MODEL, state.rng)  # knobs per model: faults_by_model[EMBED_MODEL]
    if fault.status is not None:
        return ApiError(fault.status, "simulated embeddings failure", type_="server_error").response()
    if fault.body in ("html", "empty", "error"):
        content, media_type = faults.BAD_BODIES[fault.body]
        return Response(content, media_type=media_type)
    data = [{"object": "embedding", "index": i, "embedding": hashed_vector(t)} for i, t in enumerate(texts)]
    tokens = sum(len(t.split()) for t in texts)
    body = {"object": "list", "data": data, "model": EMBED_MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    trickle = faults.knob(state.settings, EMBED_MODEL, "trickle_ms")
    if trickle > 0:
        return faults.sent_in_pieces(body, None, trickle, cut=False)
    return JSONResponse(body)
