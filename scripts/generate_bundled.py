"""Write cascade_core/datasets/bundled/generated.jsonl: a seeded, generated mixed-difficulty question set.

Bundled beside the 314 written questions so the first sweep has enough questions to certify anything: about
2,000 in all, split in half for calibration. Every question is checkable (its gold answer is computed), and
the mix leans easy, as production traffic does: many trivial questions, a minority that need the big model
(30% trivial, 35% easy, 20% medium, 15% hard).

    .venv/bin/python scripts/generate_bundled.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "cascade_core" / "datasets" / "bundled" / "generated.jsonl"
N, SEED = 3_000, 2026
MIX = (("trivial", 0.30), ("easy", 0.35), ("medium", 0.20), ("hard", 0.15))


def _prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def item(i: int, rng: random.Random) -> dict[str, str]:
    level = rng.choices([m[0] for m in MIX], [m[1] for m in MIX])[0]
    kind = rng.choice(("arithmetic", "classification", "multistep") if level == "hard" else
                      ("arithmetic", "classification", "arithmetic"))
    if kind == "classification":
        n = rng.randint(2, 30) if level == "trivial" else rng.randint(10, 99) if level == "easy" else \
            rng.randint(100, 999)
        q, gold, typ = f"Is {n} a prime number? Answer yes or no.", "yes" if _prime(n) else "no", "text"
    elif kind == "multistep":
        a, b, c = rng.randint(12, 99), rng.randint(3, 19), rng.randint(10, 500)
        q, gold, typ = (f"A crate holds {a} boxes of {b} items each; {c} items are sold. How many items are left?",
                        str(a * b - c), "number")
    elif level == "trivial":
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        q, gold, typ = f"What is {a} + {b}?", str(a + b), "number"
    elif level == "easy":
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        q, gold, typ = f"What is {a} + {b}?", str(a + b), "number"
    elif level == "medium":
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        q, gold, typ = f"What is {a} x {b}?", str(a * b), "number"
    else:
        a, b, c = rng.randint(100, 999), rng.randint(12, 99), rng.randint(2, 9)
        q, gold, typ = f"What is ({a} - {b}) x {c}?", str((a - b) * c), "number"
    return {"id": f"gen-{i:04d}", "question": f"[{i}] {q}", "gold": gold, "answer_type": typ, "category": kind,
            "difficulty": level}


def main() -> None:
    rng = random.Random(SEED)
    OUT.write_text("".join(json.dumps(item(i, rng)) + "\n" for i in range(N)), encoding="utf-8")
    sys.stdout.write(f"wrote {N:,} questions to {OUT}\n")


if __name__ == "__main__":
    main()
