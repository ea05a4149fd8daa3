"""Cascade Lab: LLM model cascades over OpenAI-compatible endpoints.

The library is grouped by role, one package each (see the README's "Layout"): `cascade` (the walk over tiers),
`sweep` (outcome table, fronts, recommendation), `audit`, `store`, `serve`, `simulator`, `cli`, `views` (what
pages display) and `figures`. Importing this package loads nothing heavy; import the package you need.
"""

__version__ = "0.2.0"
