"""Claim files: one JSON per paper claim, the source of the book's scorecard.

``results/<scale>/claims/<CLAIM_ID>.json`` holds ``claim_id``, ``paper``, ``statement``,
``paper_value`` (the paper's words), ``metric`` (what ``our_value`` measures), ``our_value``,
``ci95``, ``verdict``, ``verdict_rule`` (pre-registered text, copied from the experiment
config) and ``provenance``; ``details`` may hold anything else worth showing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.paths import results_root
from weakness_lib.core.store import write_json

# "ours": a claim that tests a paper's thesis with no number from the paper (e.g. IV)
PAPERS: tuple[str, ...] = ("bennett2026", "wen2023", "ours")
VERDICTS: tuple[str, ...] = ("reproduced", "partially_reproduced", "not_reproduced")
REQUIRED: tuple[str, ...] = (
    "claim_id",
    "paper",
    "statement",
    "paper_value",
    "metric",
    "our_value",
    "ci95",
    "verdict",
    "verdict_rule",
    "provenance",
)


#: our own earlier value quoted inside a parenthesis of a registered text ("(paper: …; our B6-60k: …)")
_OURS_IN_PARENS = re.compile(r";\s*(?:our |chapter \d+\w*'s )[^;()]*(?=\))")
#: where a registered ``paper_value`` stops quoting the paper and quotes our own earlier value
_OURS_TO_END = "; our "


def paper_words(text: str) -> str:
    """A registered ``statement`` or ``paper_value`` without the values of ours it quoted.

    Four registrations (B6-R, B7-R, B6-60k-R, B7-60k) also quote, after ``"; our "`` (or ``"; chapter
    05's "``), our own value
    of an earlier population as it stood when they were written (e.g. "our B7-R at n = 5,000: W2
    ρ = −0.002"). The store has since been re-derived under pinned numerics and those values moved
    (B7-R now +0.373), so shown as the paper's words beside today's numbers they would contradict
    the book: the book shows the paper's words and reads every value of ours from a claim file.
    The claim file keeps the registered text unchanged.
    """
    return _OURS_IN_PARENS.sub("", text).split(_OURS_TO_END, 1)[0]


class ClaimError(ValueError):
    """A claim record is malformed."""


@dataclass
class Claim:
    claim_id: str
    paper: str
    statement: str
    paper_value: str
    metric: str
    our_value: float
    ci95: list[float] | None
    verdict: str
    verdict_rule: str
    provenance: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(asdict(self))


def validate(record: dict[str, Any]) -> None:
    """Raise :class:`ClaimError` naming the first problem with a claim record."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ClaimError(f"claim {record.get('claim_id', '?')} lacks fields {missing}")
    cid = record["claim_id"]
    if record["paper"] not in PAPERS:
        raise ClaimError(f"claim {cid}: paper must be one of {PAPERS}, got {record['paper']!r}")
    if record["verdict"] not in VERDICTS:
        raise ClaimError(f"claim {cid}: verdict must be one of {VERDICTS}")
    value = record["our_value"]
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ClaimError(f"claim {cid}: our_value must be a finite number, got {value!r}")
    ci = record["ci95"]
    if ci is not None and (len(ci) != 2 or not ci[0] <= ci[1]):
        raise ClaimError(f"claim {cid}: ci95 must be [lo, hi] with lo ≤ hi or null")
    if not str(record["verdict_rule"]).strip():
        raise ClaimError(f"claim {cid}: verdict_rule is empty")


def claims_dir(scale: str) -> Path:
    return results_root(scale) / "claims"


#: provenance fields that describe *when* a claim file was written (or under which id it was first
#: written: ``renamed_from``, set when a committed claim was renamed without re-deriving it), not
#: what it says; a re-derivation that differs only in these keeps the committed file
VOLATILE: frozenset[str] = frozenset({"date", "git_commit", "claim_written", "renamed_from"})


def _stable(obj: Any) -> Any:
    """``obj`` without :data:`VOLATILE` keys at any depth, normalised through JSON."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


#: analyses re-run on another CPU family may differ in the last bits (numpy/scipy pick different
#: kernels); a claim whose numbers agree to this relative tolerance says the same thing
SAME_REL_TOL = 1e-9


def same_content(a: Any, b: Any) -> bool:
    """``a`` and ``b`` say the same thing: equal structure and text, numbers within
    :data:`SAME_REL_TOL` (relative; 1e-300 absolute for zeros)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_content(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_content(x, y) for x, y in zip(a, b))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return a == b or math.isclose(a, b, rel_tol=SAME_REL_TOL, abs_tol=1e-300)
    return a == b


def write_claim(claim: Claim, scale: str) -> tuple[Path, bool]:
    """Validate and atomically write ``claim`` to ``results/<scale>/claims/<id>.json``; return the
    path and whether the file changed.

    Re-deriving a claim from stored results must not churn the committed file: when the existing
    file says the same thing (ignoring when and at which commit it was written, and last-bit
    differences of an analysis re-run on another CPU, :func:`same_content`), it is kept.
    """
    path = claims_dir(scale) / f"{claim.claim_id}.json"
    record = json.loads(json.dumps(jsonable(asdict(claim))))
    if path.exists():
        try:
            if same_content(_stable(json.loads(path.read_text(encoding="utf-8"))), _stable(record)):
                return path, False
        except json.JSONDecodeError:
            pass  # a torn or edited file is simply rewritten
    write_json(path, record)
    return path, True


def load_claims(scale: str) -> list[dict[str, Any]]:
    """All claim records of a scale, validated, sorted by claim id (B5 before B5-R: by the id, not
    by the file name, where "-" sorts before ".json")."""
    out = []
    for path in claims_dir(scale).glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        validate(record)
        out.append(record)
    return sorted(out, key=lambda r: r["claim_id"])
