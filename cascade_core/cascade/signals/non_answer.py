"""Text that is not an answer although a tier returned it: the prompt's own placeholder, chat-template tokens.

Every signal's parsed answer passes `non_answer_reason`; such an answer never counts as confident, never ends a
run as its final answer and is logged with the reason (tiny models echo the prompt's `<short final answer>`;
a wrong chat template leaks `<|eot_id|>` and friends into the reply).
"""

from __future__ import annotations

import re

PROMPT_PLACEHOLDERS = ("<short final answer>", "<1-5>")
_TEMPLATE_TOKEN = re.compile(
    r"<\|[a-z_]*(?:eot_id|end_of_text|begin_of_text|start_header_id|end_header_id|im_start|im_end|endoftext|"
    r"reserved_special_token_\d+|eom_id|python_tag|end|user|assistant|system)\|>|</?s>|\[/?INST\]",
    re.IGNORECASE,
)


def non_answer_reason(answer: str | None) -> str | None:
    """Why `answer` is not an answer, or None when it may be one."""
    if answer is None or not answer.strip():
        return "empty answer"
    lowered = answer.strip().lower()
    for placeholder in PROMPT_PLACEHOLDERS:
        if placeholder in lowered:
            return f"the answer is the prompt's placeholder {placeholder!r}"
    token = _TEMPLATE_TOKEN.search(answer)
    if token is not None:
        return f"the answer contains the chat-template token {token.group(0)!r}"
    return None
