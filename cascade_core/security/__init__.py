"""Secrets, personal data, file access and retention: what Cascade Lab keeps, shows and lets a browser reach."""

from cascade_core.security.binding import is_loopback
from cascade_core.security.paths import PathNotAllowedError, allowed_path, allowed_paths, data_folders
from cascade_core.security.pii import PII_KINDS, PiiKind, redact_pii
from cascade_core.security.redact import MASK, known_secrets, redact, redact_exception

__all__ = [
    "MASK",
    "PII_KINDS",
    "PathNotAllowedError",
    "PiiKind",
    "allowed_path",
    "allowed_paths",
    "data_folders",
    "is_loopback",
    "known_secrets",
    "redact",
    "redact_exception",
    "redact_pii",
]
