"""Config fields that name an environment variable (where a key or password lives), never the secret itself."""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_name(value: str | None) -> str | None:
    """`value` if it is a variable NAME; a pasted key fails and is not echoed (it would land in the error)."""
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError("expected the NAME of an environment variable (letters, digits, _), not a key")
    return value
