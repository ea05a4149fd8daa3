"""A reasoning model's thinking inside a reply, told apart from its answer.

llama.cpp (--reasoning-format none, older builds), Ollama and DeepSeek-R1 distills put it in the content as a
<think> block; llama.cpp's default, vLLM and DeepSeek's API split it into `reasoning_content` (OpenRouter and newer
vLLM: `reasoning`), which the client puts back in front of the content as a <think> block, so the raw output is
the reply as written. Drafts in the reasoning ({"answer": ..., "confidence": 5} and then a change of mind) must
never be read as the answer.
"""

from __future__ import annotations

import re

_REASONING_OPEN = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_REASONING_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
REASONING_FIELDS = ("reasoning_content", "reasoning")  # llama.cpp, vLLM, DeepSeek; OpenRouter, newer vLLM


def answer_part(text: str) -> str:
    """`text` after the model's reasoning, which no parser may read as the answer: a leading <think> block (an
    unclosed one is all reasoning), or everything up to a lone </think> (chat templates that open the block in
    the prompt, as Qwen3's and DeepSeek-R1's do). Text without reasoning comes back unchanged."""
    opened = _REASONING_OPEN.match(text)
    if opened is not None:
        closed = re.compile(f"</{opened.group(1)}>", re.IGNORECASE).search(text, opened.end())
        return "" if closed is None else text[closed.end():]
    closed = _REASONING_CLOSE.search(text)
    return text if closed is None else text[closed.end():]
