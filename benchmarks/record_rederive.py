"""Record the re-derivation of the full-scale store under pinned numerics.

    python benchmarks/record_rederive.py <groups.jsonl> [--before COMMIT]

``groups.jsonl`` is the log ``benchmarks/rederive.sh`` writes (one line per group of studies, with
its wall time). ``--before`` is the last commit whose claims were derived from the native-dispatch
store (default ``daa992a``). Writes ``benchmarks/results/rederive.json``: the measured wall time of
each group, which studies are re-derived (their tables record pinned numerics) and which are still
pending, and every claim's value, CI and verdict before and after — all 14, not only the moved ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import weakness_lib  # noqa: F401  (pins numerics; the record reads only stored files)
from weakness_lib.core import numerics
from weakness_lib.core.claims import load_claims
from weakness_lib.engine import base, registry

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "rederive.json"


def claim_at(commit: str, claim_id: str) -> dict | None:
    """A claim file as it was at ``commit`` (``None`` if it did not exist there)."""
    res = subprocess.run(["git", "show", f"{commit}:results/full/claims/{claim_id}.json"],
                         cwd=ROOT, capture_output=True, text=True)
    return json.loads(res.stdout) if res.returncode == 0 else None


def summary(claim: dict | None) -> dict | None:
    """Value, CI and verdict, plus the secondary weakness estimator where a claim reports one."""
    if claim is None:
        return None
    out = {"value": claim.get("our_value"), "ci95": claim.get("ci95"), "verdict": claim.get("verdict")}
    sec = (claim.get("details") or {}).get("secondary_weakness")
    if isinstance(sec, dict):
        out["secondary_weakness"] = {k: sec.get(k) for k in ("measure", "rho_raw", "p", "ci95_raw")}
    return out


def study_status() -> dict[str, dict]:
    """Per study: its table's numerics profile, creation commit and date, and summed unit time."""
    out = {}
    for spec in registry.STUDIES.values():
        t = base.table(spec.name, "full")
        if not t.path.exists():  # registered, not computed yet: not part of the re-derivation
            continue
        prov = t.provenance
        out[spec.name] = {"claims": list(spec.claims),
                          "numerics": (prov.get("numerics") or {}).get("profile", "native"),
                          "created": prov.get("date"), "commit": prov.get("git_commit"),
                          "cpu": prov.get("cpu"), "unit_wall_s": round(t.total_wall_s(), 1)}
    return out


def twin_agreement(before: str, studies: dict[str, dict]) -> dict[str, dict]:
    """Per re-derived study with per-network test accuracy: Spearman ρ between each network's
    value before (native dispatch) and after (pinned) — how much of a network's rank the seed
    fixes and how much the rounding of its training does."""
    import numpy as np
    from scipy import stats

    out = {}
    for name, st in studies.items():
        if st["numerics"] != numerics.PROFILE:
            continue
        t = base.table(name, "full")
        res = subprocess.run(["git", "show", f"{before}:{t.path.relative_to(ROOT)}"], cwd=ROOT,
                             capture_output=True, text=True)
        if res.returncode != 0:
            continue
        old, new = json.loads(res.stdout)["rows"], {r["key"]: r for r in t.rows()}
        # networks trained in both stores (a network may diverge in one and not the other)
        keys = [k for k in old if k in new and isinstance(old[k].get("test_acc"), float)
                and isinstance(new[k].get("test_acc"), float)]
        if len(keys) < 10:
            continue
        out[name] = {"networks": len(keys)}
        for col in ("test_acc", "w2", "lambda_max"):
            if all(isinstance(old[k].get(col), float) and isinstance(new[k].get(col), float)
                   for k in keys):
                a = np.array([old[k][col] for k in keys])
                b = np.array([new[k][col] for k in keys])
                if np.ptp(a) > 0 and np.ptp(b) > 0:
                    out[name][col] = float(stats.spearmanr(a, b).statistic)
    return out


def claim_change(before: str, claim: dict) -> dict:
    """A claim file against its version at commit ``before`` (found under its former id if it was
    renamed since): value, CI and verdict before and after, whether they moved, the relative
    change."""
    former = (claim.get("provenance") or {}).get("renamed_from")  # its id at ``before``
    old = summary(claim_at(before, claim["claim_id"]) or (claim_at(before, former) if former else None))
    new = summary(claim)
    rel = None
    if old and isinstance(old["value"], (int, float)) and old["value"]:
        rel = (new["value"] - old["value"]) / abs(old["value"])
    return {"claim_id": claim["claim_id"], "before": old, "after": new,
            "moved": old is None or old["value"] != new["value"] or old["ci95"] != new["ci95"],
            "relative_change": rel, "verdict_changed": bool(old) and old["verdict"] != new["verdict"]}


def compare_claims(before: str, studies: dict[str, dict]) -> list[dict]:
    owner = {cid: name for name, s in studies.items() for cid in s["claims"]}
    return [{**claim_change(before, claim), "study": owner.get(claim["claim_id"]),
             "rederived": studies.get(owner.get(claim["claim_id"]), {}).get("numerics") == numerics.PROFILE}
            for claim in sorted(load_claims("full"), key=lambda c: c["claim_id"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", type=Path)
    ap.add_argument("--before", default="daa992a")
    args = ap.parse_args()
    groups = [json.loads(line) for line in args.groups.read_text().splitlines() if line.strip()]
    studies = study_status()
    done = [n for n, s in studies.items() if s["numerics"] == numerics.PROFILE]
    record = {
        "profile": numerics.PROFILE, "before_commit": args.before, "groups": groups,
        "measured_wall_s": round(sum(g["wall_s"] for g in groups if not g.get("interrupted")), 1),
        "interrupted_wall_s": round(sum(g["wall_s"] for g in groups if g.get("interrupted")), 1),
        # the whole book from an empty store: every group's wall time, the interrupted part of a
        # group included (its resumption computed only the units it had not stored)
        "end_to_end_wall_s": round(sum(g["wall_s"] for g in groups), 1),
        "complete": not [n for n in studies if n not in done],
        "resumed_groups": [g["studies"] for g in groups if g.get("resumed")],
        "studies": studies, "rederived": done,
        "pending": [n for n in studies if n not in done],
        "claims": compare_claims(args.before, studies),
        "twin_agreement": twin_agreement(args.before, studies),
    }
    # imported here: at the top isort would put it above weakness_lib, which pins numerics first
    from _common import write_json

    write_json(OUT, record)
    print(f"{OUT}: {len(done)} of {len(studies)} studies re-derived in "
          f"{record['end_to_end_wall_s'] / 60:.1f} min (interrupted parts included); "
          f"{sum(c['moved'] for c in record['claims'])} of {len(record['claims'])} claims moved")


if __name__ == "__main__":
    main()
