"""The code of the benchmarks appendix (``notebooks/10_benchmarks.ipynb``), first half: the setting,
λ_max, the Hutchinson trace, XTrace and training throughput. The second half (study runner, the
confirmatory compute, numerics, the whole book) is :mod:`weakness_lib.views.benchmarks_book`.

Every number is read from the committed ``benchmarks/results/*.json`` (through the table builders
of :mod:`weakness_lib.views.bench`); nothing is measured when the book is built. Each function shows
what one cell of the page shows (a returned table is the cell's output) and glues the numbers its
prose quotes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

from weakness_lib.views import bench as br
from weakness_lib.views import names, style, tables
from weakness_lib.views.chapter import glue

RERUN = ('<div class="admonition tip rerun-box"><p class="admonition-title">Rerun this page</p><p>Every number '
         'here is read from <code>benchmarks/results/*.json</code>; building the book never re-runs the '
         'benchmarks. To re-measure them: <code>make bench</code> (about an hour on two cores), then '
         '<code>make book</code>.</p></div>')


def rerun_box() -> Any:
    """The page's "Rerun this page" box (HTML): the benchmarks are re-measured by ``make bench``."""
    from IPython.display import HTML

    return HTML(RERUN)


#: a function of the library in a stored text (``build_mlp(seed=0)``, ``top_eigenvalues``): a
#: snake_case name with its call's arguments, if any
_FUNCTION = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\([^()]*\))?")


def code_names(text: Any) -> Any:
    """``text`` HTML-escaped, with each function name in it in code formatting (a reader may type
    it); anything but a string is returned as it is. For tables built with ``escape=False``."""
    if not isinstance(text, str):
        return text
    return _FUNCTION.sub(lambda m: f"<code>{m[0]}</code>", html.escape(text))


def _coded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`code_names` applied to every text column."""
    return frame.map(code_names)


def _threads(n: Any) -> str:
    """"1 thread", "2 threads"."""
    return f"{n} thread" + ("" if int(n) == 1 else "s")



def load() -> dict[str, dict[str, Any]]:
    """The benchmark results the page reads (``book`` only once a build of this book wrote it);
    applies the book's plot style."""
    results = {name: br.load(name) for name in ("curvature", "training", "gemm")}
    book = br.load_optional("book")  # written by a build of this book, so the first build has none
    if book is not None:
        results["book"] = book
    style.apply()
    return results


def machine(results: dict[str, dict[str, Any]]) -> Any:
    """Where and when each benchmark ran."""
    return tables.table(br.machine_table(results), wrap=["cpu"])


def setting(results: dict[str, dict[str, Any]]) -> Any:
    """The network, batch and threads of every curvature method."""
    setup = results["curvature"]["setup"]
    glue(bench_batch=setup["batch"], bench_n_params=setup["n_params"])
    trained = "; ".join(f"{names.label(k)}: {tables.fmt_number(v)}" for k, v in setup["training"].items())
    return tables.table(pd.Series({"model": code_names(setup["model"]), "parameters": setup["n_params"],
                                   "training before measuring": html.escape(trained), "batch": setup["batch"],
                                   "batch source": code_names(setup["batch_source"]),
                                   "threads": setup["threads"]}, name="value"), wrap=["value"], escape=False)


# ---------------------------------------------------------------------------------------------
# λ_max
# ---------------------------------------------------------------------------------------------
def lambda_max(results: dict[str, dict[str, Any]]) -> Any:
    """λ_max to a relative accuracy of 10⁻³: every method's products, error and time."""
    curv = results["curvature"]
    ref = curv["results"]["lambda_max"]["reference"]
    glue(lam_ref=ref["lambda_max"], lam_gap=ref["lambda_2"] / ref["lambda_max"],
         lam_ref_agree=names.num(ref.get("arpack_rel_diff", float("nan")), 1))
    return tables.table(_coded(br.lambda_table(curv)), digits=4, escape=False,
                        formats={"rel. error": "{:.1e}", "wall s": "{:.2f}"},
                        missing="the iterates were recorded only for the runs whose every estimate was logged "
                                "(PyHessian run long, the new Lanczos path)")



def lambda_verdict(results: dict[str, dict[str, Any]]) -> None:
    """PyHessian as shipped, and the products at equal actual accuracy (glued and said)."""
    curv = results["curvature"]
    ref = curv["results"]["lambda_max"]["reference"]

    def row(method: str, dtype: str = "float32") -> dict[str, Any]:
        return next(r for r in curv["results"]["lambda_max"]["rows"]
                    if r["method"] == method and r.get("dtype") == dtype)

    ours, fast, ph, ph_long, cl = (row(m) for m in ("ours", "ours_fast", "pyhessian", "pyhessian_long",
                                                    "curvlinops"))
    ph_true = ph_long["n_hvp_to_true_1e-3"]
    glue(lam_ours_hvp=ours["n_hvp"], lam_fast_hvp=fast["n_hvp"], lam_ph_hvp=ph["n_hvp"], lam_ph_err=ph["rel_err"],
         lam_cl_hvp=cl["n_hvp"], lam_ph_true_hvp=ph_true if ph_true is not None else float("nan"))
    if ph_true is None:
        verdict = (f"PyHessian's power iteration did not get within 10⁻³ of λ* in "
                   f"{ph_long['n_hvp']} products, so the goal (at most half as many products as PyHessian) is met by "
                   f"a wide margin: ours needs "
                   f"{fast['n_hvp']}.")
    else:
        ratio = fast["n_hvp"] / ph_true
        glue(lam_ratio=ratio)
        verdict = (f"At equal *actual* accuracy (10⁻³) the new Lanczos needs {fast['n_hvp']} products, "
                   f"PyHessian's power iteration {ph_true}: a ratio of {ratio:.2f} "
                   f"(goal: at most half as many products as PyHessian; {br.met(ratio <= 0.5)}).")
    br.markdown(
        f"PyHessian *as shipped* stopped after {ph['n_hvp']} products with a relative error of "
        f"{names.num(ph['rel_err'], 2)}: its rule (stop when two successive Rayleigh quotients differ by < 0.1 %) "
        f"measures progress, not accuracy, and the power iteration converges like "
        f"(λ₂/λ₁)^k = {ref['lambda_2'] / ref['lambda_max']:.3f}^k. " + verdict +
        " ARPACK (ours before, and curvlinops through the same scipy call) spends "
        + (f"{ours['n_hvp']} products in both" if ours['n_hvp'] == cl['n_hvp'] else
           f"{ours['n_hvp']} and {cl['n_hvp']} products")
        + ": its first restart cycle has `ncv` = 20 steps whatever the tolerance.")


def convergence_figure(results: dict[str, dict[str, Any]]) -> None:
    """The λ_max estimate's relative error after each product (float32)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    conv = br.convergence_frame(results["curvature"], "float32")
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.55))
    sns.lineplot(data=conv, x="HVPs", y="relative error", hue="method", ax=ax)
    ax.axhline(1e-3, color="grey", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlim(0, 80)  # the power iteration ran to 300 products; it plateaus at float32 precision
    ax.set_title("λ_max estimate after each Hessian-vector product (float32)")
    fig.tight_layout()
    style.show(fig)


# ---------------------------------------------------------------------------------------------
# Trace
# ---------------------------------------------------------------------------------------------
def _trace_rows(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["method"]: r for r in results["curvature"]["results"]["trace"]["rows"]}


def trace(results: dict[str, dict[str, Any]]) -> Any:
    """Hutchinson to a 1 % standard error, every method."""
    t = _trace_rows(results)
    glue(tr_probes=t["ours_fast"]["n_probes"], tr_fast_ms=t["ours_fast"]["ms_per_hvp"],
         tr_ph_ms=t["pyhessian"]["ms_per_hvp"], tr_cl_ms=t["curvlinops"]["ms_per_hvp"])
    if "ours" in t:
        glue(tr_ours_ms=t["ours"]["ms_per_hvp"])
    return tables.table(_coded(br.trace_table(results["curvature"])), digits=4, escape=False)


def trace_cost(results: dict[str, dict[str, Any]]) -> Any:
    """The cost of a probe per method (said), then curvlinops' variance-reduced estimators."""
    t = _trace_rows(results)
    lines = [f"The fast path (`GraphHVP.matmat`, one batched backward pass for 32 probes) costs "
             f"{t['ours_fast']['ms_per_hvp']:.0f} ms per probe against "
             f"{t['pyhessian']['ms_per_hvp']:.0f} ms for PyHessian (one backward pass per probe on a "
             f"retained graph) and {t['curvlinops']['ms_per_hvp']:.0f} ms for curvlinops (vmap over "
             "forward-over-reverse products, rebuilding the graph for every block)"]
    if "ours" in t:
        lines.append(f"; our previous path (`HVP`, jvp∘grad, one probe at a time) costs "
                     f"{t['ours']['ms_per_hvp']:.0f} ms")
    d = t["pyhessian_default"]
    lines.append(f". PyHessian's default rule stopped after {d['n_probes']} probes with a relative "
                 f"standard error of {d['rel_stderr']:.1%}.")
    br.markdown("".join(lines))
    return tables.table(br.variance_reduced_table(results["curvature"]), digits=4)


def xtrace(results: dict[str, dict[str, Any]]) -> None:
    """XTrace's self-reported standard error against the spread over seeds, and its products to 1 %."""
    from IPython.display import display

    curv = results["curvature"]
    xt = curv if "xtrace" in curv["results"] else br.load_optional("curvature_xtrace")
    if xt is None:
        br.markdown("*No `curvature_xtrace.json`: run `bench_curvature.py --only xtrace`.*")
        return
    xtab = br.xtrace_table(xt)
    display(tables.table(xtab, digits=4))
    hutch_k = _trace_rows(results)["ours_fast"]["n_probes"]
    best = xtab[xtab["self-reported s.e. (mean)"] <= 0.01 * xtab["mean"].abs()]
    if not len(best):
        br.markdown("XTrace did not reach a 1 % standard error at the budgets tried.")
        return
    k = int(best["HVPs"].min())
    row_k = xtab[xtab["HVPs"] == k].iloc[0]
    glue(xtrace_hvp_1pct=k)
    spread = float(row_k["s.d. over repeats"]) / abs(float(row_k["mean"]))
    br.markdown(
        f"XTrace's self-reported standard error falls below 1 % of the trace at **{k}** "
        f"products (mean over seeds {row_k['self-reported s.e. (mean)']:.3g}); Hutchinson needed "
        f"{hutch_k} products for the same 1 % standard error, {hutch_k / k:.1f}× as many. "
        f"Measured by the spread of its {int(row_k['repeats'])} seeds instead "
        f"({row_k['s.d. over repeats']:.3g}, {100 * spread:.2f} % of the trace; a rough check with so few "
        "repeats), XTrace at that budget is "
        + ("also within 1 %." if spread <= 0.01 else
           "not within 1 %, so its real gain over Hutchinson is smaller than its own error estimate says."))


# ---------------------------------------------------------------------------------------------
# Training throughput
# ---------------------------------------------------------------------------------------------
def training(results: dict[str, dict[str, Any]]) -> Any:
    """Ensembles against the one-at-a-time loop (table and prose), then the float32 GEMM rates."""
    from IPython.display import display

    training, setup = results["training"], results["curvature"]["setup"]
    res = training["results"]
    glue(train_speedup=res["speedup_best_ensemble_vs_best_naive"])
    best_ens = max(res["ensemble"], key=lambda r: r["net_epochs_per_s"])
    best_naive = max(res["naive"], key=lambda r: r["net_epochs_per_s"])
    glue(train_fraction=best_ens["fraction_of_fp32_gemm_peak"])
    display(tables.table(br.training_table(training), digits=3,
                         missing="no CPU time was recorded for this run"))
    chk = res["ensemble_vs_naive_check"]
    same = ", ".join(f"{float(v):.2f}× on {_threads(k)}" for k, v in res["speedup_at_same_threads"].items())
    br.markdown(
        f"Best ensemble (K = {best_ens['networks']}, {_threads(best_ens['threads'])}) vs best "
        f"one-at-a-time loop ({_threads(best_naive['threads'])}): "
        f"**{res['speedup_best_ensemble_vs_best_naive']:.2f}×** networks·epochs per second "
        f"(goal: at least twice as fast; {br.met(res['speedup_best_ensemble_vs_best_naive'] >= 2)}; at equal "
        f"thread count: {same}; on 1 thread per CPU-second, which discounts "
        f"time the job spent descheduled: {res['speedup_1thread_per_cpu_s']:.2f}×). The best ensemble reaches "
        f"{best_ens['fraction_of_fp32_gemm_peak']:.0%} and the best loop "
        f"{best_naive['fraction_of_fp32_gemm_peak']:.0%} of the float32 `torch.mm` rate measured at "
        f"the same thread count. Ensemble vs loop after training: max |Δweight| = "
        f"{names.num(chk['max_abs_weight_diff'], 2)}, max |Δ final train loss| = "
        f"{names.num(chk['max_abs_final_train_loss_diff'], 2)}. On this shared machine two threads are "
        "*slower* than one: an OpenMP thread waits at every barrier for a partner that the "
        "scheduler has handed to another job.")
    bmm = sorted((r for r in res["ensemble"] if r.get("impl") == "bmm" and r["threads"] == 1),
                 key=lambda r: r["networks"])
    if len(bmm) > 1:
        mb = {r["networks"]: 3 * 4 * setup["n_params"] * r["networks"] / 1e6 for r in bmm}
        br.markdown(
            "Throughput per network falls as K grows: " + ", ".join(
                f"K = {r['networks']}: {r['net_epochs_per_s']:.2f}" for r in bmm) +
            " networks·epochs/s. Every step reads and writes the parameters, gradients and momentum "
            "of all members (float32): " + ", ".join(f"{v:.0f} MB at K = {k}" for k, v in mb.items()) +
            ", so large ensembles are limited by memory traffic rather than arithmetic; the loop keeps "
            f"one network ({mb[bmm[0]['networks']] / bmm[0]['networks']:.1f} MB) in cache.")
    gemm_wide = br.gemm_table(results["gemm"]).pivot_table(index="n", columns=["dtype", "threads"],
                                                           values="GFLOP/s (best)")
    gemm_wide.columns = [f"{d}, {_threads(t)}: GFLOP/s" for d, t in gemm_wide.columns]
    return tables.table(gemm_wide, index=True, digits=3)
