"""Shared text helpers of the signals' parsers (kept for imports; the parser lives in cascade/structured.py)."""

from __future__ import annotations

from cascade_core.cascade.structured import json_candidates, json_objects

__all__ = ["json_candidates", "json_objects"]
