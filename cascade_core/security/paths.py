"""Which local files a browser user may make the server read: only files inside the configured data folders.

The dashboard's "path on this machine" fields pass every path through `allowed_path` before anything opens it.
Symlinks and `..` are resolved first, so a link inside a data folder that points outside it is refused, and the
refusal never says whether the file exists or what it holds (no cell value of an outside file is ever echoed).
Relative folders and relative paths are taken from the current directory (the project folder under `./run`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DEFAULT_DATA_FOLDERS: tuple[str, ...] = ("data",)


class PathNotAllowedError(ValueError):
    """A local path outside the configured data folders."""


def data_folders(folders: Sequence[str] | None = None) -> list[Path]:
    """The configured folders, resolved (symlinks and `..` followed)."""
    return [Path(f).expanduser().resolve() for f in (folders if folders is not None else DEFAULT_DATA_FOLDERS)]


def allowed_path(text: str, folders: Sequence[str] | None = None) -> Path:
    """The resolved path of `text` if it lies inside one of `folders`, else PathNotAllowedError.

    The message names the folders, not what the path points at: an outside path is refused before it is read
    or even checked for existence."""
    raw = text.strip()
    if not raw or "\x00" in raw:
        raise PathNotAllowedError("give a file path inside the data folders")
    roots = data_folders(folders)
    target = Path(raw).expanduser().resolve()  # symlinks and .. resolved: the file that would really be opened
    if not any(target == root or target.is_relative_to(root) for root in roots) or target in roots:
        names = ", ".join(str(r) for r in roots) or "(none configured)"
        raise PathNotAllowedError(
            f"{raw!r} is not a file inside the data folders ({names}); the dashboard reads local files only from "
            "there (config [privacy] data_folders). Copy the file into one, or upload it."
        )
    return target


def allowed_paths(text: str, folders: Sequence[str] | None = None) -> list[str]:
    """Comma-separated paths (as the Sweep page takes them), each through `allowed_path`."""
    return [str(allowed_path(part, folders)) for part in text.split(",") if part.strip()]
