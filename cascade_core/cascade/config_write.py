"""Write an operating point (thresholds, skip-ahead, abstain, start tier) into the cascade.toml in use.

Only the top-level keys it owns are replaced or added (before the first [table]); every other line, comment and
table is kept as written. The result is parsed and validated before it replaces the file (atomically), so a
save never leaves a broken config behind.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from cascade_core.cascade.config import ConfigError, read_config_text, validate_config

OWNED = ("thresholds", "skip_below", "abstain_below", "start_tier")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=")


def config_in_use() -> Path | None:
    """The config file `load_config()` reads: $CASCADE_CONFIG, else ./cascade.toml; None for the embedded default."""
    chosen = os.environ.get("CASCADE_CONFIG")
    if chosen:
        return Path(chosen)
    return Path("cascade.toml") if Path("cascade.toml").exists() else None


def _value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return f"{float(value):.6g}"


def set_operating_point(path: str | Path, values: dict[str, Any]) -> str:
    """Replace (or add) the owned top-level keys in `path`; a None value removes the key. Returns the new text."""
    unknown = set(values) - set(OWNED)
    if unknown:
        raise ValueError(f"not an operating-point key: {sorted(unknown)}")
    file = Path(path)
    lines = read_config_text(file).splitlines()
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    head, rest = lines[:first_table], lines[first_table:]
    kept: list[str] = []
    skipping = False
    for line in head:
        if skipping:  # the rest of a multi-line array being replaced
            skipping = "]" not in line
            continue
        match = _KEY.match(line)
        if match and match.group(1) in values:
            skipping = "[" in line.split("=", 1)[1] and "]" not in line.split("=", 1)[1]
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    kept += [f"{key} = {_value(value)}" for key, value in values.items() if value is not None]
    text = "\n".join([*kept, "", *rest]) + "\n"
    try:
        validate_config(tomllib.loads(text), source=str(file))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{file}: the edited config would not be valid TOML ({err}); it was not changed") from None
    _write_atomically(file, text)
    return text


def restore_config(path: str | Path, before: str, after: str) -> None:
    """Undo a save: put `before` back, only while the file still holds exactly what the save wrote (`after`)."""
    file = Path(path)
    if read_config_text(file) != after:
        raise ConfigError(f"{file}: changed since the save; it was not restored (edit it by hand)")
    _write_atomically(file, before)


def _write_atomically(file: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, file)
