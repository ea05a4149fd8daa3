"""The one redaction function for secrets: every endpoint error passes `redact` before it is shown, stored or
logged (the tier client, the Settings page's connection test, config validation errors, the endpoint's replies).

What it removes, whatever the surrounding text:
- every known key (the values of the variables the tiers name, plus any variable whose name says KEY, TOKEN,
  SECRET or PASSWORD), and any run of 8 or more of a key's leading characters (an endpoint that echoes
  a key's first characters followed by "..." still gives away much of it);
- credentials inside URLs: `scheme://user:key@host` keeps the host only, and the values of query parameters
  such as `?api_key=`, `key=`, `token=`, `access_token=`, `sig=`, `password=`;
- `Authorization: Bearer ...` / `Basic ...` values and well-known key shapes (`sk-...`, `nvapi-...`, `ghp_...`,
  `AKIA...`, `xox?-...`, `hf_...`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

MASK = "***"
MIN_PREFIX = 8  # a run of this many leading characters of a key counts as the key
MIN_SECRET = 4  # a given secret shorter than this is not redacted (it would blank ordinary words)
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@?#]+)@")
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|authorization|secret|client[_-]?secret|"
    r"password|passwd|pwd|sig|signature|x-api-key)=)(?P<value>[^&#\s\"'<>]+)",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(
    r"(?P<name>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=:-]{6,})"
    r"|(?P<bname>\bBasic\s+)(?P<bvalue>(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2})",
    re.IGNORECASE,
)
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|nvapi-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{8,}|hf_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{30,})"
)


def known_secrets(names: Iterable[str | None] = ()) -> list[str]:
    """Values of the named variables, plus every set variable whose name looks like a secret (8+ chars)."""
    wanted = {n for n in names if n}
    values = {value for name, value in os.environ.items()
              if (name in wanted or _SECRET_NAME.search(name)) and len(value) >= MIN_PREFIX}
    return sorted(values, key=len, reverse=True)


def _mask_key(text: str, key: str) -> str:
    """Replace the key and every run of >= MIN_PREFIX of its leading characters."""
    head = key[:MIN_PREFIX]
    if head not in text:
        return text
    out: list[str] = []
    i = 0
    while True:
        j = text.find(head, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        end = j + MIN_PREFIX
        while end < len(text) and end - j < len(key) and text[end] == key[end - j]:
            end += 1
        out.append(text[i:j])
        out.append(MASK)
        i = end


def redact(text: str | None, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret removed (see the module doc). `secrets`: extra keys to remove, besides the
    environment's. Never raises; None becomes ''."""
    if not text:
        return ""
    given = [s for s in (secrets or ()) if s and len(s) >= MIN_SECRET]
    keys = sorted({*(s for s in given if len(s) >= MIN_PREFIX), *known_secrets()}, key=len, reverse=True)
    for key in keys:
        text = _mask_key(text, key)
    for short in (s for s in given if len(s) < MIN_PREFIX):  # a short key is removed whole (no prefix rule)
        text = text.replace(short, MASK)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['name']}{MASK}", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m['name'] or m['bname']}{MASK}", text)
    return _KEY_SHAPES.sub(MASK, text)


def redact_exception(err: BaseException, secrets: Iterable[str] | None = None) -> str:
    """`Type: message` of an exception, redacted."""
    return redact(f"{type(err).__name__}: {err}", secrets)
