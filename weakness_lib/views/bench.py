"""Tables for the benchmarks appendix, read from the committed ``benchmarks/results/*.json``.

The benchmark scripts in ``benchmarks/`` write one JSON file each (machine, load average,
environment, setup, results); this module only reads them — nothing is re-measured when the
book is built. A missing file raises :class:`FileNotFoundError` naming the script that writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from weakness_lib.core.paths import project_root


def markdown(text: str) -> None:
    """Display ``text`` as Markdown in the appendix (one cell's prose)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def met(ok: bool) -> str:
    """Whether a benchmark reached the goal set for it before it ran, in words."""
    return "met" if ok else "not met"


SCRIPTS = {
    "curvature": "benchmarks/bench_curvature.py",
    "training": "benchmarks/bench_training.py",
    "gemm": "benchmarks/bench_gemm.py",
    "book": "benchmarks/bench_book.py",
}


def results_dir() -> Path:
    return project_root() / "benchmarks" / "results"


def load(name: str) -> dict[str, Any]:
    """The stored results of benchmark ``name`` (``curvature``, ``training``, ``gemm``, ``book``)."""
    path = results_dir() / f"{name}.json"
    if not path.exists():
        script = SCRIPTS.get(name, f"benchmarks/bench_{name}.py")
        raise FileNotFoundError(
            f"{path} not found: run `nice -n 10 .venv/bin/python {script}` (or `make bench`) "
            "and commit the JSON it writes"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_optional(name: str) -> dict[str, Any] | None:
    """Like :func:`load`, but ``None`` when the file does not exist."""
    path = results_dir() / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def xtrace_table(xt: dict[str, Any]) -> pd.DataFrame:
    """Our XTrace at fixed budgets: mean, its own s.e., the spread over seeds, Hutchinson's s.e."""
    rows = []
    for r in xt["results"]["xtrace"]:
        rows.append({
            "HVPs": r["n_hvp"], "repeats": r["repeats"], "mean": r["mean"],
            "self-reported s.e. (mean)": r["mean_self_stderr"],
            "s.d. over repeats": r["sd_over_repeats"],
            "Hutchinson s.e. at same HVPs": r.get("hutchinson_se_at_same_hvps"),
            "max |dev| from pooled Hutchinson": r.get("max_abs_dev_from_pooled"),
            "wall s (mean)": r["wall_s_mean"],
        })
    return pd.DataFrame(rows)


def machine_table(results: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per benchmark: when, where, on which commit, and how loaded the machine was."""
    rows = []
    for name, r in results.items():
        m, env = r["machine"], r["environment"]
        rows.append({
            "benchmark": name, "date": env.get("date"), "commit": str(env.get("git_commit"))[:12],
            "torch": env.get("torch"), "threads": r["setup"].get("threads", env.get("torch_threads")),
            "cpu": m.get("cpu"), "cores": m.get("logical_cores"),
            "load avg (1 min) start → end":
                f"{m['start']['loadavg_1_5_15'][0]:.1f} → {m['end']['loadavg_1_5_15'][0]:.1f}",
            "shared machine": m.get("shared_machine"),
        })
    return pd.DataFrame(rows)


LAMBDA_LABELS = {
    "ours": "ours: top_eigenvalues (ARPACK) + jvp∘grad HVP",
    "ours_graph_arpack": "ours: top_eigenvalues (ARPACK) + GraphHVP",
    "ours_fast": "ours (new): lanczos_lambda_max + GraphHVP",
    "pyhessian": "PyHessian eigenvalues(tol=1e-3)",
    "pyhessian_to_true": "PyHessian power iteration, stopped when truly within 1e-3",
    "pyhessian_long": "PyHessian power iteration, run long",
    "curvlinops": "curvlinops HessianLinearOperator + eigsh",
}


def _method_table(rows: list[dict[str, Any]], labels: dict[str, str], columns: dict[str, str],
                  *, labelled_only: bool) -> pd.DataFrame:
    """One line per stored row: its method's label (the method's own name when unlabelled), then
    ``columns`` (header → stored key; None where a row lacks the key); with ``labelled_only``,
    only the methods ``labels`` names."""
    return pd.DataFrame([
        {"method": labels.get(r["method"], r["method"]), **{h: r.get(k) for h, k in columns.items()}}
        for r in rows if not labelled_only or r["method"] in labels
    ])


def lambda_table(curv: dict[str, Any]) -> pd.DataFrame:
    """λ_max rows: method, dtype, HVPs, wall time, value, relative error vs the reference."""
    return _method_table(curv["results"]["lambda_max"]["rows"], LAMBDA_LABELS, {
        "dtype": "dtype", "HVPs": "n_hvp", "HVPs to true 1e-3": "n_hvp_to_true_1e-3",
        "wall s": "wall_s", "λ_max": "lambda_max", "rel. error": "rel_err",
    }, labelled_only=True)


def time_to_accuracy_table(curv: dict[str, Any]) -> pd.DataFrame:
    """Side by side, per dtype: wall time to a λ_max within 1e-3 (construction included) — ours
    certified by its residual bound, PyHessian's power iteration stopped when truly within 1e-3 —
    the median over repeats, the HVPs, and the ratio ours / PyHessian (target ≤ ½)."""
    rows = []
    for t in curv["results"]["lambda_max"].get("time_to_accuracy", []):
        ours, ph = t["ours"], t["pyhessian"]
        rows.append({
            "dtype": t["dtype"], "repeats": len(ours),
            "ours HVPs": ours[0]["n_hvp"], "PyHessian HVPs": t["pyhessian_products_to_true_target"],
            "ours wall s (median)": float(pd.Series([r["wall_s"] for r in ours]).median()),
            "PyHessian wall s (median)": float(pd.Series([r["wall_s"] for r in ph]).median()),
            "ours rel. error": max(r["rel_err"] for r in ours),
            "PyHessian rel. error": max(r["rel_err"] for r in ph),
            "ratio (medians)": t["ratio_of_medians"], "meets ≤ ½": t["meets_target"],
        })
    return pd.DataFrame(rows)


def convergence_frame(curv: dict[str, Any], dtype: str = "float32") -> pd.DataFrame:
    """Relative error after each HVP: Lanczos Ritz value vs power-iteration Rayleigh quotient."""
    ref = curv["results"]["lambda_max"]["reference"]["lambda_max"]
    parts = []
    for r in curv["results"]["lambda_max"]["rows"]:
        if r.get("dtype") != dtype:
            continue
        hist = r.get("ritz_history") if r["method"] == "ours_fast" else (
            r.get("rayleigh_history") if r["method"] == "pyhessian_long" else None)
        if not hist:
            continue
        label = "Lanczos (ours, new)" if r["method"] == "ours_fast" else "power iteration (PyHessian)"
        parts.append(pd.DataFrame({
            "HVPs": range(1, len(hist) + 1), "method": label,
            "relative error": [max(abs(h - ref) / abs(ref), 1e-16) for h in hist],
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


TRACE_LABELS = {
    "ours": "ours: hutchinson_trace (jvp∘grad, one probe at a time)",
    "ours_fast": "ours (new): hutchinson_to_stderr (GraphHVP, blocks of 32)",
    "pyhessian": "PyHessian trace, driven to the same s.e.",
    "pyhessian_default": "PyHessian trace() defaults (its own stopping rule)",
    "curvlinops": "curvlinops Rademacher A @ G, blocks of 32",
}


def trace_table(curv: dict[str, Any]) -> pd.DataFrame:
    """Trace rows: method, probes (= HVPs), wall time, ms per HVP, estimate, s.e., relative s.e."""
    return _method_table(curv["results"]["trace"]["rows"], TRACE_LABELS, {
        "probes = HVPs": "n_hvp", "wall s": "wall_s", "ms / HVP": "ms_per_hvp", "trace": "trace",
        "s.e.": "stderr", "rel. s.e.": "rel_stderr",
    }, labelled_only=False)


def variance_reduced_table(curv: dict[str, Any]) -> pd.DataFrame:
    t = curv["results"]["trace"]
    rows = []
    for r in t["variance_reduced"]:
        rows.append({
            "method": r["method"], "HVPs": r["n_hvp"], "repeats": r["repeats"],
            "mean": r["mean"], "s.d. over repeats": r["sd_over_repeats"],
            "Hutchinson s.e. at same HVPs": r["hutchinson_se_at_same_hvps"],
            "max |dev| from pooled Hutchinson": r["max_abs_dev_from_pooled"],
        })
    return pd.DataFrame(rows)


def training_table(train: dict[str, Any]) -> pd.DataFrame:
    res = train["results"]
    rows = []
    names = {"loop": "one network at a time (train)", "vmap": "ensemble, torch.func vmap(grad)",
             "bmm": "ensemble, stacked baddbmm + autograd"}
    for kind in ("naive", "ensemble"):
        for r in res[kind]:
            impl = r.get("impl", "loop" if kind == "naive" else "vmap")
            label = names.get(impl, impl) + ("" if kind == "naive" else f", K = {r['networks']}")
            rows.append({
                "training": label, "threads": r["threads"],
                "networks × epochs": r["networks"] * r["epochs"], "wall s": r["wall_s"],
                "networks·epochs / s": r["net_epochs_per_s"],
                "networks·epochs / CPU-s": r.get("net_epochs_per_cpu_s"),
                "GFLOP/s": r["achieved_gflops"],
                "fraction of FP32 GEMM rate (wall)": r["fraction_of_fp32_gemm_peak"],
                "fraction of FP32 GEMM rate (CPU time)": r.get("fraction_of_fp32_gemm_peak_cpu"),
            })
    return pd.DataFrame(rows)


def gemm_table(gemm: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([
        {"n": r["n"], "dtype": r["dtype"], "threads": r["threads"], "GFLOP/s (best)": r["gflops_best"]}
        for r in gemm["results"]["rows"]
    ])


def book_tables(book: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(smoke build: seconds per step, full-scale estimate: stored wall time per experiment)."""
    res = book["results"]
    smoke = pd.DataFrame(
        [{"step": k, "seconds": v} for k, v in res.get("smoke", {}).get("timings_s", {}).items()]
    )
    full_rows = []
    for r in res.get("full_estimate", {}).get("experiments", []):
        full_rows.append({
            "experiment": r["experiment"], "status": r.get("status"), "units": r.get("units"),
            "expected units": r.get("expected_units"), "Σ unit wall s": r.get("sum_wall_s"),
            "extrapolated s": r.get("extrapolated_sum_wall_s"),
        })
    return smoke, pd.DataFrame(full_rows)


def runner_table(runner: dict[str, Any]) -> pd.DataFrame:
    """One line per (workload, worker count): wall time end to end, units, speed-up over 1 worker,
    and whether both stores were bit-identical (``benchmarks/bench_runner.py``)."""
    rows = []
    for name, w in runner["results"].items():
        base = next(r["wall_s"] for r in w["runs"] if r["workers"] == 1)
        for r in w["runs"]:
            phase = r.get("units_phase_s")
            rows.append({"workload": name, "workers": r["workers"], "units": r["units_computed"],
                         "wall s": round(r["wall_s"], 1), "speed-up": round(base / r["wall_s"], 2),
                         "units phase s": "—" if phase is None else round(phase, 1),
                         "driver (summary, claims) s": "—" if phase is None else round(r["finalise_s"], 1),
                         "stores bit-identical": "yes" if w["bitwise_identical"] else "no"})
    return pd.DataFrame(rows)


def confirmatory_table(rec: dict[str, Any]) -> pd.DataFrame:
    """Per study of chapter 5b: units, summed unit wall time (training / measuring), and the span
    from its first to its last stored unit (``benchmarks/record_confirmatory.py``)."""
    rows = [{"study": s, "units": v["units"], "unit time, summed [min]": v["unit_wall_sum_s"] / 60,
             "training [min]": v["train_s"] / 60, "measuring [min]": v["measure_s"] / 60,
             "first → last unit [min]": v["first_to_last_unit_s"] / 60}
            for s, v in rec["results"]["per_study"].items()]
    return pd.DataFrame(rows)
