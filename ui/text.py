"""Showing untrusted text (questions, answers, model output, endpoint errors) as text, never as markup."""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all that Markdown,
# Streamlit directives (:red[...], :material/...:), LaTeX ($) or HTML (<, >, &) could act on is enough.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")


def md_escape(text: str, limit: int | None = None) -> str:
    """`text` safe to embed in st.markdown / labels: special characters escaped, newlines flattened."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def preview(text: str | None, limit: int = 120) -> str:
    """A one-line plain-text preview (for select boxes and captions that take plain text)."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
