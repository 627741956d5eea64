"""λ_max and Hutchinson trace of the MNIST MLP Hessian: ours vs PyHessian vs curvlinops.

Setting (identical for every method): the 784-256-256-10 ReLU MLP ``build_mlp(seed=0)`` trained
for ``--train-epochs`` epochs of the head-to-head recipe (SGD, lr 0.05, momentum 0.9, batch 64)
on the first 5,000 images of the seed-0 stratified MNIST order; the Hessian is that of the mean
cross-entropy on the first ``--batch`` images of the same order (all inside the training set);
``torch.set_num_threads(2)``; float32 and float64.

λ_max (target: relative accuracy 1e-3). Reference λ* = certified Lanczos with tol 1e-10 on the
float64 GraphHVP (k = 2, so λ₂ too), cross-checked against ARPACK eigsh(tol=1e-10).

* Time to a λ_max within 1e-3, side by side, ``--repeats-lambda`` times, alternating which goes
  first, on the same batch and dtype, construction included for both, from the same float32
  model: **ours** = ``GraphHVP.for_model`` + ``lanczos_lambda_max(tol=1e-3)`` (the library's λ_max
  path: it stops when its residual bound *certifies* 1e-3); **PyHessian** = ``hessian(...)`` +
  ``eigenvalues(maxIter=n, tol=0)`` with n the number of products its power iteration needs
  before its estimate is *truly* within 1e-3 of λ* and stays there (read off a long run from the
  same seed; PyHessian's own tol=1e-3 rule stops far earlier and ~5e-3 off). Target: ours ≤ ½.
* Counts and accuracies of every method, as before: ``ours`` = ARPACK eigsh(tol=1e-3) on the
  jvp∘grad HVP (the library's previous path), ``ours_fast`` = the new path (with its Ritz
  history), ``ours_graph_arpack``, ``pyhessian`` (as shipped), ``pyhessian_long`` (300 products,
  Rayleigh quotient after each), ``curvlinops`` (``HessianLinearOperator`` + eigsh(tol=1e-3)).
  HVPs are counted by wrapping each library's own product (PyHessian: its module-level
  ``hessian_vector_product``; curvlinops: the operator's ``_matmat_batch``, counting columns).
* Cost per product: a plain loop of products vs the per-product cost inside Lanczos.

Trace (target: standard error ≤ ``--rel-se`` of the estimate). All four estimators are
Rademacher Hutchinson, drawn in blocks of 32 until s/√K ≤ rel_se·|mean|:
  ours        weakness_lib.curvature.hutchinson_trace per block (sequential jvp∘grad HVPs)
  ours_fast   weakness_lib.curvature.hutchinson_to_stderr (GraphHVP, batched blocks)
  pyhessian   pyhessian.hessian(...).trace(maxIter=32, tol=-1) per block (its own probes)
  curvlinops  curvlinops Rademacher probes G, per-probe gᵢᵀ(A G)ᵢ — the body of its
              hutchinson_trace (einsum("ij,ij", G, A @ G)), keeping the per-probe terms
PyHessian's *default* trace (maxIter=100, tol=1e-3: stop when the running mean changes by
< 0.1 %) is also run and its standard error reported. Variance-reduced estimators of curvlinops
(Hutch++ and XTrace) are run ``--repeats`` times at small budgets; their spread is compared
with Hutchinson's standard error at the same number of products.

Run:  nice -n 10 .venv/bin/python benchmarks/bench_curvature.py   (≈ 10–30 min on 2 busy cores)
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.linalg import eigsh

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import THREADS, WIDTHS, Machine, setup_torch, timed, write_results  # noqa: E402

from weakness_lib.bennett.data import load_dataset, stratified_order  # noqa: E402
from weakness_lib.bennett.models import build_mlp  # noqa: E402
from weakness_lib.bennett.train import TrainConfig, train  # noqa: E402
from weakness_lib.curvature import (  # noqa: E402
    HVP,
    GraphHVP,
    hutchinson_to_stderr,
    hutchinson_trace,
    lanczos_lambda_max,
    top_eigenvalues,
    xtrace,
)

BLOCK = 32


# ----------------------------------------------------------------------------- setting
def make_problem(batch: int, train_epochs: int):
    data = load_dataset("mnist")
    order = stratified_order(data.train_y, seed=0)
    idx = order[:5000]
    X, y = data.train_x[idx], data.train_y[idx]
    model = build_mlp(WIDTHS, seed=0)
    if train_epochs > 0:
        cfg = TrainConfig(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=64,
                          epochs=train_epochs)
        res = train(model, X, y, cfg, seed=0)
        info = {"train_epochs": train_epochs, "final_train_loss": res.final_train_loss,
                "final_train_acc": res.final_train_acc, "train_wall_s": res.wall_s}
    else:
        info = {"train_epochs": 0, "note": "network at initialisation"}
    model.eval()
    return model, X[:batch].clone(), y[:batch].clone(), info


def model_in(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    m = copy.deepcopy(model).to(dtype)
    m.zero_grad(set_to_none=True)
    return m


# ----------------------------------------------------------------------------- peers, counted
class PyHessianCounter:
    """Counts PyHessian's products and records the Rayleigh quotient vᵀHv of each."""

    def __init__(self) -> None:
        import importlib

        # the package re-exports the class under the module's name: fetch the module itself
        self.module = importlib.import_module("pyhessian.hessian")
        self.original = self.module.hessian_vector_product
        self.n = 0
        self.quotients: list[float] = []

    def __enter__(self) -> PyHessianCounter:
        def counted(gradsH, params, v):
            self.n += 1
            hv = self.original(gradsH, params, v)
            self.quotients.append(float(sum((a * b).sum() for a, b in zip(hv, v))))
            return hv

        self.module.hessian_vector_product = counted
        return self

    def __exit__(self, *exc) -> None:
        self.module.hessian_vector_product = self.original


def pyhessian_op(model, X, y, dtype):
    from pyhessian import hessian

    m = model_in(model, dtype)
    return hessian(m, torch.nn.CrossEntropyLoss(), data=(X.to(dtype), y), cuda=False)


class default_dtype:
    """PyHessian draws its vectors with the default dtype: match it to the model's."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype, self.old = dtype, torch.get_default_dtype()

    def __enter__(self) -> None:
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc) -> None:
        torch.set_default_dtype(self.old)


def curvlinops_op(model, X, y, dtype, check_deterministic: bool = False):
    """curvlinops' Hessian operator with a product counter ``op.n_hvp`` (columns multiplied)."""
    from curvlinops import HessianLinearOperator

    m = model_in(model, dtype)
    params = [p for p in m.parameters() if p.requires_grad]
    counter = {"n": 0}
    original = HessianLinearOperator._matmat_batch

    def counted(self, Xb, yb, M):
        counter["n"] += M[0].shape[-1]
        return original(self, Xb, yb, M)

    HessianLinearOperator._matmat_batch = counted
    try:
        op = HessianLinearOperator(m, torch.nn.CrossEntropyLoss(), params, [(X.to(dtype), y)],
                                   check_deterministic=check_deterministic)
    finally:
        HessianLinearOperator._matmat_batch = original
    construction = counter["n"]
    op._matmat_batch = lambda Xb, yb, M: counted(op, Xb, yb, M)
    return op, counter, construction


# ----------------------------------------------------------------------------- λ_max
TARGET = 1e-3


def rel_err(value: float, ref: float) -> float:
    return abs(value - ref) / abs(ref)


def lambda_max_reference(model, X, y) -> dict:
    op = GraphHVP.for_model(model, X, y, dtype=torch.float64)
    res, wall = timed(lambda: top_eigenvalues(op, k=2, tol=1e-10, seed=123))
    v0 = np.random.default_rng(123).standard_normal(op.dim)
    arpack = np.sort(eigsh(op.as_linear_operator(), k=2, which="LA", tol=1e-10, v0=v0)[0])[::-1]
    return {"lambda_max": float(res.values[0]), "lambda_2": float(res.values[1]),
            "n_hvp": res.n_hvp, "wall_s": wall, "residual_bounds": res.residuals.tolist(),
            "arpack_lambda_max": float(arpack[0]), "arpack_lambda_2": float(arpack[1]),
            "arpack_rel_diff": rel_err(float(arpack[0]), float(res.values[0])),
            "method": "certified Lanczos top_eigenvalues(k=2, tol=1e-10), float64 GraphHVP; "
                      "ARPACK eigsh(k=2, which='LA', tol=1e-10) as a cross-check"}


def first_within(trace: list[float], ref: float, tol: float) -> int | None:
    """1-based index of the first entry within ``tol`` (relative) of ``ref`` that stays within."""
    ok = [rel_err(t, ref) <= tol for t in trace]
    for i in range(len(ok)):
        if all(ok[i:]):
            return i + 1
    return None


def arpack_on(op, tol: float) -> float:
    """ARPACK eigsh(k=1, which='LA') on an operator's float64 scipy view, seeded start."""
    v0 = np.random.default_rng(0).standard_normal(op.dim)
    return float(eigsh(op.as_linear_operator(), k=1, which="LA", tol=tol, v0=v0)[0][0])


def ours_certified(model, X, y, dtype) -> dict:
    """The library's λ_max path, construction included: GraphHVP + certified Lanczos."""
    t0 = time.perf_counter()
    op = GraphHVP.for_model(model, X, y, dtype=dtype)
    t1 = time.perf_counter()
    res = lanczos_lambda_max(op, tol=TARGET, seed=0)
    t2 = time.perf_counter()
    return {"lambda_max": res.lambda_max, "n_hvp": res.n_hvp, "wall_s": t2 - t0,
            "setup_s": t1 - t0, "solve_s": t2 - t1, "residual_bound": float(res.residuals[0])}


def pyhessian_power(model, X, y, dtype, n_products: int) -> dict:
    """PyHessian from the same float32 model, construction included, stopped after exactly
    ``n_products`` products (tol=0 disables its own rule); start vector from torch seed 0."""
    from pyhessian import hessian

    torch.manual_seed(0)
    with default_dtype(dtype):
        t0 = time.perf_counter()
        h = hessian(model_in(model, dtype), torch.nn.CrossEntropyLoss(), data=(X.to(dtype), y),
                    cuda=False)
        t1 = time.perf_counter()
        vals, _ = h.eigenvalues(maxIter=n_products, tol=0.0)
        t2 = time.perf_counter()
    return {"lambda_max": float(vals[0]), "n_hvp": n_products, "wall_s": t2 - t0,
            "setup_s": t1 - t0, "solve_s": t2 - t1}


def product_cost(model, X, y, dtype, n: int = 10) -> dict:
    """ms per product in a plain loop: our GraphHVP, and PyHessian's hessian_vector_product."""
    from pyhessian.utils import normalization

    op = GraphHVP.for_model(model, X, y, dtype=dtype)
    v = torch.randn(op.dim, generator=torch.Generator().manual_seed(0), dtype=dtype)
    _, ours = timed(lambda: [op(v) for _ in range(n)])
    with default_dtype(dtype):
        h = pyhessian_op(model, X, y, dtype)
        module = PyHessianCounter().module
        w = normalization([torch.randn(p.size()) for p in h.params])
        _, ph = timed(lambda: [module.hessian_vector_product(h.gradsH, h.params, w) for _ in range(n)])
    return {"graph_hvp_ms": 1e3 * ours / n, "pyhessian_hvp_ms": 1e3 * ph / n, "products": n}


def time_to_accuracy(model, X, y, ref: float, dtype, n_ph: int, repeats: int) -> dict:
    """Ours (certified 1e-3) vs PyHessian (truly within 1e-3), side by side, alternating order."""
    ours, ph = [], []
    for r in range(repeats):
        runs = [lambda: ours.append(ours_certified(model, X, y, dtype)),
                lambda: ph.append(pyhessian_power(model, X, y, dtype, n_ph))]
        for run in runs[:: 1 if r % 2 == 0 else -1]:
            run()
    for row in ours + ph:
        row["rel_err"] = rel_err(row["lambda_max"], ref)
    ratios = [a["wall_s"] / b["wall_s"] for a, b in zip(ours, ph)]
    med = float(np.median([a["wall_s"] for a in ours]) / np.median([b["wall_s"] for b in ph]))
    return {"dtype": str(dtype).replace("torch.", ""), "target_rel_accuracy": TARGET,
            "ours": ours, "pyhessian": ph, "pyhessian_products_to_true_target": n_ph,
            "ratio_per_repeat": ratios, "ratio_of_medians": med, "target_ratio": 0.5,
            "meets_target": bool(med <= 0.5 and all(a["rel_err"] <= TARGET for a in ours)),
            "ms_per_product_in_solver": {
                "ours": float(np.median([1e3 * a["solve_s"] / a["n_hvp"] for a in ours])),
                "pyhessian": float(np.median([1e3 * b["solve_s"] / b["n_hvp"] for b in ph]))},
            "plain_loop": product_cost(model, X, y, dtype)}


def bench_lambda_max(model, X, y, ref: float, dtypes, long_iters: int, repeats: int
                     ) -> tuple[list[dict], list[dict]]:
    rows, side_by_side = [], []
    for dtype in dtypes:
        name = str(dtype).replace("torch.", "")
        # PyHessian, long run from seed 0: products until the iterate is really within 1e-3
        torch.manual_seed(0)
        with default_dtype(dtype), PyHessianCounter() as c:
            (vals, _), wall = timed(lambda: pyhessian_op(model, X, y, dtype).eigenvalues(
                maxIter=long_iters, tol=0.0))
        n_true = first_within(c.quotients, ref, TARGET)
        rows.append({"method": "pyhessian_long", "impl": f"eigenvalues(maxIter={long_iters}, tol=0)",
                     "dtype": name, "lambda_max": float(vals[0]), "n_hvp": c.n, "wall_s": wall,
                     "rel_err": rel_err(float(vals[0]), ref), "rayleigh_history": c.quotients,
                     "n_hvp_to_true_1e-3": n_true})
        # the headline: time to 1e-3, side by side (PyHessian: all long_iters if it never got there)
        sbs = time_to_accuracy(model, X, y, ref, dtype, n_true or long_iters, repeats)
        if n_true is None:
            sbs["note"] = f"PyHessian never got within 1e-3 in {long_iters} products: a lower bound"
        side_by_side.append(sbs)
        # ours_fast with its convergence history (counts; wall = median of the timed repeats)
        history: list[float] = []
        op = GraphHVP.for_model(model, X, y, dtype=dtype)
        res = lanczos_lambda_max(op, tol=TARGET, seed=0, history=history)
        rows.append({"method": "ours_fast", "impl": "curvature.lanczos_lambda_max + GraphHVP",
                     "dtype": name, "lambda_max": res.lambda_max, "n_hvp": res.n_hvp,
                     "wall_s": float(np.median([a["wall_s"] for a in sbs["ours"]])),
                     "rel_err": rel_err(res.lambda_max, ref),
                     "residual_bound": float(res.residuals[0]), "ritz_history": history,
                     "n_hvp_to_true_1e-3": first_within(history, ref, TARGET)})
        rows.append({"method": "pyhessian_to_true", "impl": f"eigenvalues(maxIter={sbs['pyhessian_products_to_true_target']}, tol=0)",
                     "dtype": name, "lambda_max": sbs["pyhessian"][0]["lambda_max"],
                     "n_hvp": sbs["pyhessian_products_to_true_target"],
                     "wall_s": float(np.median([b["wall_s"] for b in sbs["pyhessian"]])),
                     "rel_err": sbs["pyhessian"][0]["rel_err"]})
        # ours before: ARPACK on the jvp∘grad HVP, and ARPACK on GraphHVP (construction included)
        for method, cls in (("ours", HVP), ("ours_graph_arpack", GraphHVP)):
            def arpack(cls=cls):
                op = cls.for_model(model, X, y, dtype=dtype)
                return op, arpack_on(op, TARGET)
            (op, val), wall = timed(arpack)
            rows.append({"method": method, "impl": f"scipy eigsh(tol=1e-3) + {cls.__name__}",
                         "dtype": name, "lambda_max": val, "n_hvp": op.calls, "wall_s": wall,
                         "rel_err": rel_err(val, ref)})
        # PyHessian, as shipped: power iteration with its tol=1e-3 stopping rule
        torch.manual_seed(0)
        with default_dtype(dtype), PyHessianCounter() as c:
            (vals, _), wall = timed(lambda: pyhessian_op(model, X, y, dtype).eigenvalues(
                maxIter=100, tol=1e-3))
        rows.append({"method": "pyhessian", "impl": "pyhessian.hessian.eigenvalues(tol=1e-3)",
                     "dtype": name, "lambda_max": float(vals[0]), "n_hvp": c.n, "wall_s": wall,
                     "rel_err": rel_err(float(vals[0]), ref), "rayleigh_history": c.quotients})
        # curvlinops: its operator through scipy eigsh (the usage its docs show)
        def cl():
            op, counter, construction = curvlinops_op(model, X, y, dtype)
            v0 = np.random.default_rng(0).standard_normal(op.shape[0])
            vals, _ = eigsh(op.to_scipy(), k=1, which="LA", tol=TARGET, v0=v0)
            return float(vals[0]), counter["n"] - construction
        (val, n), wall = timed(cl)
        rows.append({"method": "curvlinops", "impl": "HessianLinearOperator.to_scipy() + eigsh(tol=1e-3)",
                     "dtype": name, "lambda_max": val, "n_hvp": n, "wall_s": wall,
                     "rel_err": rel_err(val, ref)})
        print(f"[λ_max {name}] ours {sbs['ours'][0]['n_hvp']} HVP vs PyHessian {sbs['pyhessian_products_to_true_target']}"
              f" to true 1e-3; wall ratio (medians of {repeats}) {sbs['ratio_of_medians']:.2f}; " + ", ".join(
              f"{r['method']}: {r['n_hvp']} HVP {r['wall_s']:.2f}s err {r['rel_err']:.1e}"
              for r in rows if r["dtype"] == name), flush=True)
    # what curvlinops' default deterministic check costs at construction
    _, _, construction = curvlinops_op(model, X, y, torch.float32, check_deterministic=True)
    rows.append({"method": "curvlinops_check_deterministic", "dtype": "float32",
                 "n_hvp": construction, "note": "products spent by HessianLinearOperator("
                 "check_deterministic=True), the default; excluded from the rows above"})
    return rows, side_by_side


# ----------------------------------------------------------------------------- trace
def until_stderr(draw: Callable[[int, int], np.ndarray], rel_se: float, max_probes: int) -> np.ndarray:
    """Draw blocks of per-probe samples until s/√K ≤ rel_se·|mean| (K ≥ 2 blocks)."""
    samples = np.empty(0)
    b = 0
    while len(samples) < max_probes:
        samples = np.concatenate([samples, draw(BLOCK, b)])
        b += 1
        k = len(samples)
        if k >= 2 * BLOCK and samples.std(ddof=1) / math.sqrt(k) <= rel_se * abs(samples.mean()):
            break
    return samples


def summary(method: str, impl: str, samples: np.ndarray, wall: float, n_hvp: int) -> dict:
    k = len(samples)
    mean, se = float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(k))
    return {"method": method, "impl": impl, "trace": mean, "stderr": se,
            "rel_stderr": se / abs(mean), "n_probes": k, "n_hvp": n_hvp, "wall_s": wall,
            "ms_per_hvp": 1e3 * wall / max(n_hvp, 1)}


def bench_trace(model, X, y, rel_se: float, max_probes: int, repeats: int, budgets, dtype,
                skip_slow_ours: bool) -> dict:
    name = str(dtype).replace("torch.", "")
    rows = []
    # ours_fast
    def fast():
        op = GraphHVP.for_model(model, X, y, dtype=dtype)
        return op, hutchinson_to_stderr(op, rel_stderr=rel_se, block=BLOCK, seed=0,
                                        min_probes=2 * BLOCK, max_probes=max_probes)
    (op, res), wall = timed(fast)
    rows.append(summary("ours_fast", "curvature.hutchinson_to_stderr (GraphHVP.matmat)",
                        res.samples, wall, op.calls))
    print(f"[trace {name}] ours_fast {rows[-1]}", flush=True)
    # ours (sequential jvp∘grad)
    if not skip_slow_ours:
        op = None

        def ours():
            nonlocal op
            op = HVP.for_model(model, X, y, dtype=dtype)
            return until_stderr(lambda m, b: hutchinson_trace(op, m, seed=1000 + b).samples,
                                rel_se, max_probes)
        s, wall = timed(ours)
        rows.append(summary("ours", "curvature.hutchinson_trace (HVP jvp∘grad, one at a time)",
                            s, wall, op.calls))
        print(f"[trace {name}] ours {rows[-1]}", flush=True)
    # PyHessian, to the same standard error (its probes come from the global generator: seed it
    # apart from ours_fast's Generator(0), which would otherwise draw the very same vectors)
    torch.manual_seed(1)
    with default_dtype(dtype), PyHessianCounter() as c:
        def ph():
            h = pyhessian_op(model, X, y, dtype)
            return until_stderr(lambda m, b: np.array(h.trace(maxIter=m, tol=-1.0)), rel_se,
                                max_probes)
        s, wall = timed(ph)
    rows.append(summary("pyhessian", "pyhessian.hessian.trace(maxIter=32, tol=-1) per block",
                        s, wall, c.n))
    print(f"[trace {name}] pyhessian {rows[-1]}", flush=True)
    # PyHessian as shipped (its own stopping rule)
    torch.manual_seed(3)
    with default_dtype(dtype), PyHessianCounter() as c:
        s, wall = timed(lambda: np.array(pyhessian_op(model, X, y, dtype).trace()))
    rows.append({**summary("pyhessian_default", "pyhessian.hessian.trace() (maxIter=100, tol=1e-3)",
                           s, wall, c.n),
                 "note": "stops when the running mean changes by < 0.1 %; not a standard-error rule"})
    # curvlinops Hutchinson, per-probe terms kept
    from curvlinops.sampling import random_vector

    def cl():
        op, counter, construction = curvlinops_op(model, X, y, dtype)

        def draw(m, b):
            G = torch.column_stack([random_vector(op.shape[0], "rademacher", op.device, op.dtype)
                                    for _ in range(m)])
            return torch.einsum("ij,ij->j", G, op @ G).double().numpy()

        torch.manual_seed(2)
        return until_stderr(draw, rel_se, max_probes), counter["n"] - construction
    (s, n), wall = timed(cl)
    rows.append(summary("curvlinops", "Rademacher G, einsum('ij,ij->j', G, A @ G) per block of 32",
                        s, wall, n))
    print(f"[trace {name}] curvlinops {rows[-1]}", flush=True)

    # pooled reference from the independent Hutchinson runs above (inverse-variance weights)
    hutch = [r for r in rows if r["method"] in ("ours_fast", "ours", "pyhessian", "curvlinops")]
    w = np.array([1 / r["stderr"] ** 2 for r in hutch])
    pooled = float(np.sum(w * np.array([r["trace"] for r in hutch])) / w.sum())
    pooled_se = float(1 / math.sqrt(w.sum()))

    # variance-reduced estimators (curvlinops), repeated at small budgets
    from curvlinops import hutchpp_trace, xtrace

    vr = []
    per_probe_sd = float(np.sqrt(np.mean([r["stderr"] ** 2 * r["n_probes"] for r in hutch])))
    for fn, label, div in ((xtrace, "curvlinops.xtrace", 2), (hutchpp_trace, "curvlinops.hutchpp_trace", 3)):
        for budget in budgets:
            m = budget - budget % div
            vals, walls = [], []
            for r in range(repeats):
                op, counter, construction = curvlinops_op(model, X, y, dtype)
                torch.manual_seed(100 + r)
                v, wall = timed(lambda: float(fn(op, num_matvecs=m)))
                vals.append(v)
                walls.append(wall)
            vals_a = np.array(vals)
            vr.append({"method": label, "n_hvp": m, "repeats": repeats, "values": vals,
                       "mean": float(vals_a.mean()), "sd_over_repeats": float(vals_a.std(ddof=1)),
                       "max_abs_dev_from_pooled": float(np.abs(vals_a - pooled).max()),
                       "hutchinson_se_at_same_hvps": per_probe_sd / math.sqrt(m),
                       "wall_s_mean": float(np.mean(walls))})
            print(f"[trace {name}] {label} m={m}: {vr[-1]['mean']:.4g} ± {vr[-1]['sd_over_repeats']:.3g}"
                  f" (Hutchinson s.e. at m: {vr[-1]['hutchinson_se_at_same_hvps']:.3g})", flush=True)
    return {"dtype": name, "target_rel_stderr": rel_se, "rows": rows, "pooled_trace": pooled,
            "pooled_stderr": pooled_se, "per_probe_sd": per_probe_sd, "variance_reduced": vr}


def bench_xtrace(model, X, y, budgets, repeats: int, dtype, pooled: float | None,
                 per_probe_sd: float | None) -> list[dict]:
    """Our XTrace (GraphHVP.matmat) at fixed budgets, ``repeats`` seeds each: its self-reported
    standard error vs the spread over seeds and the pooled Hutchinson value."""
    rows = []
    for budget in budgets:
        vals, ses, walls = [], [], []
        for r in range(repeats):
            def one():
                op = GraphHVP.for_model(model, X, y, dtype=dtype)
                return xtrace(op, n_hvp=budget, seed=200 + r)
            res, wall = timed(one)
            vals.append(res.mean)
            ses.append(res.stderr)
            walls.append(wall)
        v = np.array(vals)
        row = {"method": "ours_xtrace", "impl": "curvature.xtrace + GraphHVP.matmat",
               "n_hvp": budget, "repeats": repeats, "values": vals, "self_stderr": ses,
               "mean": float(v.mean()), "sd_over_repeats": float(v.std(ddof=1)),
               "mean_self_stderr": float(np.mean(ses)), "wall_s_mean": float(np.mean(walls))}
        if pooled is not None:
            row["max_abs_dev_from_pooled"] = float(np.abs(v - pooled).max())
        if per_probe_sd is not None:
            row["hutchinson_se_at_same_hvps"] = per_probe_sd / math.sqrt(budget)
        rows.append(row)
        print(f"[xtrace] {budget}: {row['mean']:.4g} sd {row['sd_over_repeats']:.3g} "
              f"self-se {row['mean_self_stderr']:.3g} wall {row['wall_s_mean']:.1f}s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--train-epochs", type=int, default=3)
    ap.add_argument("--rel-se", type=float, default=0.01)
    ap.add_argument("--max-probes", type=int, default=4096)
    ap.add_argument("--long-iters", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--repeats-lambda", type=int, default=3,
                    help="side-by-side timings of ours vs PyHessian to 1e-3 (per dtype)")
    ap.add_argument("--budgets", type=int, nargs="+", default=[60, 120])
    ap.add_argument("--skip-slow-ours", action="store_true",
                    help="skip the sequential jvp∘grad Hutchinson run (slowest)")
    ap.add_argument("--only", choices=("lambda", "trace", "xtrace"), default=None)
    ap.add_argument("--xtrace-budgets", type=int, nargs="+", default=[64, 128, 192])
    args = ap.parse_args(argv)
    machine = Machine()
    setup_torch(THREADS)
    model, X, y, info = make_problem(args.batch, args.train_epochs)
    n_params = sum(p.numel() for p in model.parameters())
    results: dict = {}
    if args.only in (None, "lambda"):
        ref = lambda_max_reference(model, X, y)
        print(f"[λ_max] reference {ref}", flush=True)
        rows, side = bench_lambda_max(model, X, y, ref["lambda_max"], (torch.float32, torch.float64),
                                      args.long_iters, args.repeats_lambda)
        results["lambda_max"] = {"reference": ref, "target_rel_accuracy": TARGET, "rows": rows,
                                 "time_to_accuracy": side}
    if args.only in (None, "trace"):
        results["trace"] = bench_trace(model, X, y, args.rel_se, args.max_probes, args.repeats,
                                       args.budgets, torch.float32, args.skip_slow_ours)
    if args.only in (None, "xtrace"):
        trace = results.get("trace")
        if trace is None:  # compare with the stored Hutchinson runs of the same setting
            import json

            stored = Path(__file__).resolve().parent / "results" / "curvature.json"
            trace = json.loads(stored.read_text())["results"]["trace"] if stored.exists() else {}
        results["xtrace"] = bench_xtrace(model, X, y, args.xtrace_budgets, args.repeats,
                                         torch.float32, trace.get("pooled_trace"),
                                         trace.get("per_probe_sd"))
    setup = {"model": f"MLP {WIDTHS}, build_mlp(seed=0)", "n_params": n_params,
             "training": info, "batch": args.batch,
             "batch_source": "first images of stratified_order(mnist train labels, seed=0)",
             "loss": "mean cross-entropy", "threads": THREADS, "args": vars(args),
             "hvp_block": BLOCK}
    name = "curvature" if args.only is None else f"curvature_{args.only}"
    print(write_results(name, machine, setup, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
