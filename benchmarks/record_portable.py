"""Record the portable re-run of B5, B5-R and WLM-I–III (issue 15: bit for bit on any x86-64 CPU).

    python benchmarks/record_portable.py <groups.jsonl> [--before COMMIT]

The five tables whose stored numbers passed through ``torch.sqrt`` (MKL's vector math, each CPU's
own last bits) were recomputed from an empty store: the two large-batch tables with torch's fused
Adam, the three Wen tables with a correctly rounded root in their evaluations and norms
(``configs/*.yaml``, ``portable_rerun``). ``groups.jsonl`` is the log ``benchmarks/rederive.sh``
wrote; ``--before`` is the last commit whose tables were computed the old way (default
``985f4c3``). Writes ``benchmarks/results/portable_rerun.json``: each group's wall time, each
re-run table's provenance, every claim of the five tables before and after, and unit by unit how
far the stored numbers moved (how many differ at all, and the largest relative difference).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

from record_rederive import claim_change  # benchmarks/ is the script's folder

import weakness_lib  # noqa: F401  (pins numerics; the record reads only stored files)
from weakness_lib.core.bitwise import drift
from weakness_lib.engine import base, registry

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "portable_rerun.json"
STUDIES = ("batch_size", "batch_size_r", "wen_scenario_1", "wen_scenario_2", "wen_scenario_3")


def old_table(commit: str, study: str) -> dict[str, Any]:
    """The study's full-scale table as committed at ``commit`` (its only ``*.json``)."""
    listing = subprocess.run(["git", "ls-tree", "--name-only", f"{commit}:results/full/{study}"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    (name,) = [n for n in listing if n.endswith(".json")]
    text = subprocess.run(["git", "show", f"{commit}:results/full/{study}/{name}"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    return json.loads(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", type=Path)
    ap.add_argument("--before", default="985f4c3")
    args = ap.parse_args()
    groups = [json.loads(line) for line in args.groups.read_text().splitlines() if line.strip()]
    studies, claims = {}, []
    for name in STUDIES:
        spec, table = registry.get(name), base.table(name, "full")
        old = old_table(args.before, name)
        prov = table.provenance
        studies[name] = {"claims": list(spec.claims), "commit": prov.get("git_commit"),
                         "cpu": prov.get("cpu"), "created": prov.get("date"),
                         "numerics": (prov.get("numerics") or {}).get("profile"),
                         "before_commit": (old.get("provenance") or {}).get("git_commit"),
                         "unit_wall_s": round(table.total_wall_s(), 1),
                         "moved": drift(old["rows"], {r["key"]: r for r in table.rows()})}
        for cid in spec.claims:
            new = json.loads((ROOT / "results" / "full" / "claims" / f"{cid}.json").read_text())
            claims.append({**claim_change(args.before, new), "study": name})
    record = {"before_commit": args.before, "groups": groups,
              "wall_s": round(sum(g["wall_s"] for g in groups), 1),
              "studies": studies, "claims": claims}
    # imported here: at the top isort would put it above weakness_lib, which pins numerics first
    from _common import write_json

    write_json(OUT, record)
    print(f"{OUT}: {len(studies)} tables re-run in {record['wall_s'] / 60:.1f} min; claims moved: "
          f"{[c['claim_id'] for c in claims if c['moved']]}; verdicts changed: "
          f"{[c['claim_id'] for c in claims if c['verdict_changed']]}")


if __name__ == "__main__":
    main()
