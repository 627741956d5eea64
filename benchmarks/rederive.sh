#!/usr/bin/env bash
# Re-derive the full-scale store from an empty folder under pinned numerics, resumably, in groups
# ordered cheapest first (so finished studies can be committed while later ones still run), and
# record each group's wall time. Run it from a clean worktree of the commit being measured:
#   benchmarks/rederive.sh <empty-or-partial-results-root> <log.jsonl> [group …]
# Each optional group is a quoted, space-separated list of studies, replacing the default groups
# (e.g. "wen_scenario_1 wen_scenario_2 wen_scenario_3" batch_size batch_size_r).
# A rerun resumes: stored units are skipped; the log marks such a group "resumed".
set -euo pipefail
root=$(realpath -m "$1"); log=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
export WEAKNESS_RESULTS="$root" PYTHONPATH="$here" WEAKNESS_ROOT="$here"
py="$here/.venv/bin/python"
[ -x "$py" ] || py="$(cd "$here/../main" && pwd)/.venv/bin/python"
groups=("invariance_audit wen_scenario_1 wen_scenario_2 wen_scenario_3"
        "head_to_head_fmnist head_to_head_mnist theory"
        "replication_fmnist replication_mnist"
        "reparameterisation batch_size"
        "robustness_population"
        "scale_60k_mnist")
if [ $# -gt 2 ]; then groups=("${@:3}"); fi
mkdir -p "$root"
for g in "${groups[@]}"; do
  resumed=false; for s in $g; do ls "$root"/full/"$s"/*.json >/dev/null 2>&1 && resumed=true; done
  t0=$(date +%s.%N); d0=$(date -u +%FT%TZ)
  "$py" -m weakness_lib.cli run $g --scale full --workers 2 --quiet
  t1=$(date +%s.%N)
  printf '{"studies": "%s", "start": "%s", "wall_s": %.1f, "resumed": %s, "commit": "%s", "cpu": "%s"}\n' \
    "$g" "$d0" "$(echo "$t1 - $t0" | bc)" "$resumed" "$(git -C "$here" rev-parse HEAD)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >> "$log"
done
