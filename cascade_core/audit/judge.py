"""The audit judge: its messages (question and answer as delimited data) and a robust reply parser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.prompts import JUDGE_GOLD_RUBRIC, JUDGE_OPEN_RUBRIC, JUDGE_SYSTEM
from cascade_core.cascade.signals.base import RequestOptions
from cascade_core.cascade.structured import JudgeVerdictReply, json_candidates
from cascade_core.cascade.tier_config import TierConfig

Verdict = Literal["correct", "incorrect", "unsure"]
VERDICTS: tuple[str, ...] = ("correct", "incorrect", "unsure")
DATA_TAGS: tuple[str, ...] = ("question", "answer", "gold")

# Any opening or closing tag named like one of ours inside the data: any case, stray spaces or attributes, with or
# without its closing '>' (a model reads '</answer' + newline as a closing tag too), and look-alikes a model may
# read the same way: fullwidth or small-form brackets and slash, HTML entities (&lt;/answer&gt;).
JUDGE_OPTIONS = RequestOptions(json_mode=True, schema=JudgeVerdictReply)
_OPEN = r"(?:<|\uff1c|\ufe64|&lt;|&#0*60;|&#x0*3c;)"
_CLOSE = r"(?:>|\uff1e|\ufe65|&gt;|&#0*62;|&#x0*3e;)"
_TAG_LIKE = re.compile(
    _OPEN + r"\s*([/\uff0f]?)\s*(" + "|".join(DATA_TAGS) + r")\b"
    r"(?:[^<>\uff1c\uff1e\n]{0,200}?" + _CLOSE + ")?",  # attributes up to the nearest closer on the line, if any
    re.IGNORECASE,
)
_VERDICT_FIELD = re.compile(r'"?verdict"?\s*[:=]\s*"?([A-Za-z_]+(?:[ -](?:correct|sure))?)', re.IGNORECASE)
_RATIONALE_FIELD = re.compile(r'"?rationale"?\s*[:=]\s*"((?:[^"\\]|\\.)*)"?', re.IGNORECASE)
_SYNONYMS: dict[str, str] = {
    "right": "correct", "true": "correct", "yes": "correct", "pass": "correct", "accurate": "correct",
    "wrong": "incorrect", "false": "incorrect", "no": "incorrect", "fail": "incorrect",
    "not correct": "incorrect", "not_correct": "incorrect", "inaccurate": "incorrect",
    "uncertain": "unsure", "unknown": "unsure", "not sure": "unsure", "cannot tell": "unsure",
}


def judge_tier(config: CascadeConfig) -> TierConfig:
    """The configured judge, else the cascade's last (largest) tier."""
    return config.judge if config.judge is not None else config.tiers[-1]


def neutralise(text: str) -> str:
    """Defuse our delimiter tags inside data: '</answer>' (or '</answer', '＜/answer＞', '&lt;/answer&gt;')
    becomes '[/answer]', so data cannot close its block."""
    return _TAG_LIKE.sub(lambda m: f"[{'/' if m.group(1) else ''}{m.group(2).lower()}]", text)


def judge_messages(question: str, answer: str | None, gold: str | None) -> list[dict[str, str]]:
    """System rules plus one user message whose variable parts all sit inside delimited data blocks."""
    parts = [f"<question>\n{neutralise(question)}\n</question>",
             f"<answer>\n{neutralise(answer or '')}\n</answer>"]
    if gold is not None and gold.strip():
        parts.append(f"<gold>\n{neutralise(gold)}\n</gold>")
        rubric = JUDGE_GOLD_RUBRIC
    else:
        rubric = JUDGE_OPEN_RUBRIC
    user = "\n".join([*parts, rubric, 'Reply with only the JSON object {"verdict": ..., "rationale": ...}.'])
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class JudgeReply:
    """A parsed judge reply. An unparseable or unknown verdict becomes 'unsure' with a parse_error."""

    verdict: Verdict
    rationale: str
    parse_error: str | None = None


def _verdict_of(value: Any) -> tuple[Verdict | None, str | None]:
    """(verdict, problem). Canonical words in any case pass cleanly; synonyms pass with a note."""
    if not isinstance(value, str):
        return None, f"verdict {value!r} is not a string"
    word = re.sub(r"[\s.!*\"'`]+$", "", re.sub(r"^[\s*\"'`]+", "", value)).lower().replace("-", " ")
    if word in VERDICTS:
        return word, None  # type: ignore[return-value]
    if word in _SYNONYMS:
        return _SYNONYMS[word], f"verdict {value!r} read as {_SYNONYMS[word]!r}"  # type: ignore[return-value]
    return None, f"unknown verdict {value!r}"


def _from_fields(verdict_raw: Any, rationale_raw: Any, *, cut: bool = False) -> JudgeReply:
    """A reply from its fields. A malformed verdict or rationale (missing, cut off) counts as unsure: a verdict
    the judge did not finish explaining is not evidence either way."""
    verdict, problem = _verdict_of(verdict_raw)
    rationale = "" if rationale_raw is None else str(rationale_raw).strip()
    problems = [problem] if problem else []
    if not rationale:
        problems.append("no rationale")
    elif cut:
        problems.append("rationale cut off")
    if verdict is None or not rationale or cut:
        if verdict is not None:
            problems.append(f"verdict {verdict!r} counted as unsure")
        return JudgeReply("unsure", rationale, "; ".join(problems))
    return JudgeReply(verdict, rationale, "; ".join(problems) or None)


def parse_judge_reply(text: str | None) -> JudgeReply:
    """Parse {"verdict", "rationale"}, tolerating fences, prose, odd case, missing fields and truncation."""
    if not text or not text.strip():
        return JudgeReply("unsure", "", "empty reply")
    # The judge's own verdict comes last: a reply that first quotes an object from the data (an injected
    # {"verdict": "correct"}, say) must read as the judge's verdict, not the quoted one.
    with_verdict = json_candidates(text, "verdict", fenced_first=False)
    if with_verdict:
        return _from_fields(with_verdict[-1]["verdict"], with_verdict[-1].get("rationale"))
    # No parseable object (prose, truncated JSON): look for field-shaped text (the last), then a bare verdict word.
    fields = list(_VERDICT_FIELD.finditer(text))
    if fields:
        field = fields[-1]
        rationale = _RATIONALE_FIELD.search(text, field.start()) or _RATIONALE_FIELD.search(text)
        cut = rationale is not None and not rationale.group(0).endswith('"')
        reply = _from_fields(field.group(1).strip(), rationale.group(1) if rationale else None, cut=cut)
        note = "no JSON object; read the fields from text"
        return JudgeReply(reply.verdict, reply.rationale, f"{note}; {reply.parse_error}" if reply.parse_error else note)
    bare, _ = _verdict_of(text)
    if bare is not None:
        return JudgeReply("unsure", "", f"bare verdict without JSON or rationale ({bare!r} counted as unsure)")
    return JudgeReply("unsure", text.strip()[:500], "no JSON object with a 'verdict' field")
