"""Schema version 8. The Sweep page (issue 12): a reopened sweep shows its questions' text, kept beside each
outcome row (NULL for imported results, which carry none; purged with the row).

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    "ALTER TABLE sweep_outcomes ADD COLUMN question VARCHAR",
]
