"""The appendix's portable re-run: the five tables whose stored numbers took torch's square root
(MKL's vector math, each CPU's own last bits), recomputed so that every CPU gets the same bits.
Reads ``benchmarks/results/portable_rerun.json`` (``benchmarks/record_portable.py``) only."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from weakness_lib.views import names
from weakness_lib.views.bench import load_optional
from weakness_lib.views.rederive import _change, _num, beyond_ci, verdict_words

#: the re-run tables in a reader's words, with what changed in their code
TABLES = {"batch_size": ("Large batch vs n, 5 seeds (B5)", "fused Adam"),
          "batch_size_r": ("Large batch vs n, 20 fresh seeds (B5-R)", "fused Adam"),
          "wen_scenario_1": ("Wen scenario I (WLM-I)", "correctly rounded root"),
          "wen_scenario_2": ("Wen scenario II (WLM-II)", "correctly rounded root"),
          "wen_scenario_3": ("Wen scenario III (WLM-III)", "correctly rounded root")}


def load() -> dict[str, Any] | None:
    """The record, or ``None`` before ``benchmarks/record_portable.py`` has run."""
    return load_optional("portable_rerun")


def _with_ci(summary: dict[str, Any]) -> str:
    """A claim's value and 95 % CI, 3 decimals below 10: "0.182 [0.065, 0.299]"."""
    value, ci = summary.get("value"), summary.get("ci95")
    if not isinstance(value, (int, float)):
        return "—"
    text = f"{value:.3f}" if abs(value) < 10 else _num(value)
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text.replace("-", "−")


def claims_table(record: dict[str, Any]) -> pd.DataFrame:
    """Per claim: value and 95 % CI before (the CPU's own root) and after (portable), verdict."""
    rows = []
    for c in record["claims"]:
        rows.append({"Claim": c["claim_id"], "Verdict": verdict_words(c),
                     "Before [95 % CI]": _with_ci(c["before"] or {}), "After [95 % CI]": _with_ci(c["after"]),
                     "Change": _change({**c, "rederived": True})})
    return pd.DataFrame(rows)


def _sci(x: float) -> str:
    """1.6e-13 → "1.6 × 10⁻¹³" (the book's :func:`names.num`, 2 digits); 0 → "0"; ∞ → "∞"."""
    return "∞" if math.isinf(x) else names.num(x, digits=2)


def _relative(x: float) -> str:
    """A relative move: "0 (bit for bit)", "1.6 × 10⁻¹³" below 1 %, else a percentage."""
    if x == 0:
        return "0 (bit for bit)"
    return _sci(x) if x < 0.01 or not math.isfinite(x) else f"{x:.0%}"


def _share(part: int, whole: int) -> str:
    """A share as a percentage, "< 1 %" rather than a rounded 0 %."""
    share = part / max(whole, 1)
    return "< 1 %" if 0 < share < 0.01 else f"{share:.0%}".replace("%", " %")


def _one_side(m: dict[str, Any]) -> str:
    """What the comparison could not pair: units in one table only, numbers of a shared unit on
    one side only (a retrained network that logged another number of epochs)."""
    units, nums = m.get("units_in_one_table", 0), m.get("numbers_on_one_side", 0)
    parts = ([f"{units:,} units in one table only"] if units else []) + (
        [f"{nums:,} numbers on one side only"] if nums else [])
    return "; ".join(parts) or "none"


def moved_table(record: dict[str, Any]) -> pd.DataFrame:
    """Per table: what changed in its code, and over all units how many stored numbers moved and by
    how much at most (relative)."""
    rows = []
    for name, st in record["studies"].items():
        label, change = TABLES.get(name, (name, "—"))
        m = st["moved"]
        rows.append({"Table": label, "Code change": change,
                     "Numbers that moved": f"{m['differ']:,} of {m['numbers']:,} "
                                           f"({_share(m['differ'], m['numbers'])})",
                     "Largest move": _relative(m["max_relative_difference"]),
                     "In": _field(m.get("where")), "Not comparable": _one_side(m)})
    frame = pd.DataFrame(rows)
    # a column that says "none" in every row says it once, in the caption instead
    return frame.drop(columns="Not comparable") if (frame["Not comparable"] == "none").all() else frame


def _field(where: str | None) -> str:
    """The stored number a move is in, in a reader's words: "n20000_large_s3: lambda_max_residual"
    → "λ_max's Lanczos residual"; a logged history row's field keeps its name only."""
    if not where:
        return "—"
    field = re.sub(r"\[\d+\]", "", where.split(": ", 1)[-1]).split(".")[-1]
    return names.name(field).label


def finding(record: dict[str, Any]) -> str:
    """Markdown: what moved, judged from the record (the Wen tables by rounding only, the Adam ones
    by retraining), and which verdicts changed."""
    studies = record["studies"]
    wen = [s for n, s in studies.items() if n.startswith("wen_")]
    adam = [s for n, s in studies.items() if n.startswith("batch_size")]
    worst_wen = max((s["moved"]["max_relative_difference"] for s in wen), default=0.0)
    changed = [c["claim_id"] for c in record["claims"] if c["verdict_changed"]]
    moved = [c["claim_id"] for c in record["claims"] if c["moved"]]
    parts = [f"Recomputing the five tables took **{record['wall_s'] / 60:.0f} min** on 2 workers "
             f"({', '.join(sorted({s['cpu'] for s in studies.values() if s.get('cpu')}))})."]
    if wen:
        tiny = max(s["moved"]["max_absolute_difference_below_tiny"] for s in wen)
        parts.append("In the Wen tables the networks train as before (numpy), so only evaluated "
                     f"numbers change: by at most a relative {_relative(worst_wen)}, and numbers "
                     f"smaller than {_sci(wen[0]['moved']['tiny'])} (rounding residue, such as a "
                     "training loss at interpolation or a function's change under an exact "
                     f"rescaling) by at most {_sci(tiny)} absolute"
                     + (": rounding, not a different result." if worst_wen < 1e-9 else "."))
    if adam:
        parts.append("The large-batch networks train again with another implementation of the same "
                     "Adam update: the two kernels round differently, the trained networks drift apart "
                     "as in any re-run, and the numbers measured on them move.")
    parts.append(f"Claim values that moved: **{', '.join(moved) or 'none'}**; verdicts that changed: "
                 f"**{', '.join(changed) or 'none'}**.")
    if beyond := beyond_ci(record["claims"]):
        parts.append("Moved by more than the half-width of the first run's 95 % CI: **"
                     + ", ".join(f"{cid} ({'' if move < 0 else '+'}{_num(move)})"
                                 for cid, move in beyond.items())
                     + "**, so a re-run of the same recipe is, there, a fresh sample as much as a "
                       "check.")
    return " ".join(parts)


def show() -> None:
    """The appendix section: the finding, the claims before and after, how far the numbers moved."""
    from IPython.display import display

    from weakness_lib.views import bench as br
    from weakness_lib.views import tables

    record = load()
    if record is None:
        br.markdown("*No `benchmarks/results/portable_rerun.json` yet: run "
                    "`benchmarks/record_portable.py`.*")
        return
    br.markdown(finding(record))
    claims = claims_table(record)
    display(tables.table(claims, wrap=claims.columns, key=["Claim", "Verdict"]))
    moved = moved_table(record)
    every = "" if "Not comparable" in moved else " Every stored number of every unit was paired."
    display(tables.table(moved, wrap=moved.columns, key=["Table"],
                         caption="How far the stored numbers moved, over all units (the largest move relative to the "
                                 "number's size, and the number it is in)." + every))
