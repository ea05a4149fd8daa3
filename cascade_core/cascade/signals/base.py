"""What a confidence signal is: its request options, its prompt, its parser and (optionally) its verify rule.

A signal is one module under this package that builds one `Signal`; the live walk (cascade/walk.py), the sweep's
collection (sweep/collect_outcomes.py) and the simulator (simulator/model.py) all read it from the registry
(signals/__init__.py), so adding a signal means adding one module and naming it in the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from cascade_core.records import Confidence, TierCall

ReplyStyle = Literal["json", "plain"]  # how the simulator answers this signal's prompt


@dataclass(frozen=True)
class RequestOptions:
    """Options of one chat request beyond model, messages, max_tokens and temperature."""

    json_mode: bool = False
    logprobs: bool = False
    top_logprobs: int = 0  # llama.cpp's server returns logprobs only when this is at least 1
    schema: type[BaseModel] | None = None  # the reply's shape: asked as response_format json_schema where served


PLAIN_OPTIONS = RequestOptions()


@dataclass(frozen=True)
class VerifyRule:
    """A second call per answer that asks the tier whether the answer is right; its parser gives confidence."""

    system_prompt: str
    user_template: str  # str.format(question=..., answer=...)
    options: RequestOptions
    parse: Callable[[TierCall, str], Confidence]

    def messages(self, question: str, answer: str) -> list[dict[str, str]]:
        user = self.user_template.format(question=question, answer=answer)
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Signal:
    """One confidence signal. `parse` turns the answer call into (answer, confidence); with a `verify` rule the
    confidence comes from the second call instead (the last tier never gets one: it always answers)."""

    name: str
    system_prompt: str
    options: RequestOptions
    parse: Callable[[TierCall], Confidence]
    reply_style: ReplyStyle
    verify: VerifyRule | None = None

    def messages(self, question: str) -> list[dict[str, str]]:
        """Messages of a tier's answer call under this signal."""
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": question}]
