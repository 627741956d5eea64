"""Readers' names, in one place: every stored measure, estimator, statistic and column of the book
as a reader writes it (name, symbol, unit, meaning), and one number format.

Tables, figures and pages call :func:`label` (a column → its reader's name), :func:`readable`
(rename a table's columns), and :func:`num` / :func:`minus` (true minus signs, ``1.53 × 10⁷`` rather
than ``1.53e+07``, counts without ``.0``). The methods page shows :func:`glossary`. A column that is
not listed keeps its stored name, and a test scans the rendered book for stored names. The
diagnostic columns (checks and bookkeeping shown next to the measures) are listed in
:mod:`weakness_lib.views.names_table`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from weakness_lib.views.names_table import DIAGNOSTICS

MINUS = "\u2212"
#: the datasets as stored (claim details, tables) → as a reader names them
DATASETS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


@dataclass(frozen=True)
class Name:
    """A reader's name of a stored quantity: ``label`` in tables and figures, ``symbol`` in maths,
    ``unit`` (empty when dimensionless), a one-line ``meaning`` for the glossary and a ``short``
    form for figure ticks and legends (the label when empty)."""

    label: str
    symbol: str = ""
    unit: str = ""
    meaning: str = ""
    short: str = ""


NAMES: dict[str, Name] = {
    # weakness estimators (Bennett 2026)
    "w2": Name("W2 (transformation compatibility)", "W₂", "transformations",
               "mean number of small input transformations (shifts, rotations, …) under which the "
               "predicted class of a probe image is unchanged; higher = weaker", short="W2"),
    "w2_frac": Name("W2 as a fraction", "W₂/|G|", "", "W2 divided by the number of transformations", short="W2/|G|"),
    "w2_wrong_vflip": Name("W2, vertical-flip control", "", "", "W2 for a vertical flip, a "
                           "transformation the labels are not invariant to (a negative control)", short="W2 vertical-flip control"),
    # sharpness / flatness
    "lambda_max": Name("largest Hessian eigenvalue", "λ_max", "", "sharpness: top eigenvalue of the "
                       "training-loss Hessian (Lanczos)", short="λ_max"),
    "trace": Name("Hessian trace", "tr H", "", "sharpness: sum of the Hessian's eigenvalues (Hutchinson)", short="Hessian trace"),
    "sam": Name("SAM sharpness", "S_SAM", "", "training-loss increase after one ascent step of norm "
                "ρ = 0.05 along the gradient (SAM)"),
    "asam": Name("adaptive SAM sharpness", "S_ASAM", "", "SAM sharpness with a perturbation scaled by "
                 "each weight's size (ASAM), unchanged by rescalings that keep the function"),
    "pacbayes_bound": Name("PAC-Bayes flatness bound", "", "", "a McAllester-type PAC-Bayes bound at σ* "
                           "(Jiang et al. 2019): a measure in the form of a bound, not a certified bound", short="PAC-Bayes bound"),
    "pacbayes_sigma": Name("PAC-Bayes flatness", "σ*", "", "the largest scale of Gaussian weight noise "
                           "that raises the training loss by at most a fixed amount; higher = flatter", short="PAC-Bayes σ*"),
    "pacbayes_mag_sigma": Name("magnitude-aware PAC-Bayes flatness", "σ′*", "", "σ* with noise scaled "
                               "by each weight's magnitude (Jiang et al. 2020); higher = flatter", short="PAC-Bayes σ′* (mag.)"),
    "log_spectral_sum": Name("log spectral sum", "Σ log‖W‖₂", "", "simplicity: sum of the layers' "
                             "log spectral norms", short="Σ log spectral norm"),
    # simplicity
    "lzma_bytes": Name("compressed size (lzma)", "", "bytes", "simplicity: lzma size of the weights "
                       "quantised to 8 bits, a description-length proxy", short="lzma size"),
    "zlib_bytes": Name("compressed size (zlib)", "", "bytes", "simplicity: the same with zlib", short="zlib size"),
    "l2_norm": Name("weight norm", "‖θ‖₂", "", "simplicity: Euclidean norm of all weights", short="ℓ₂ norm"),
    "param_norm": Name("weight norm", "‖θ‖₂"),
    "path_norm": Name("path norm", "", "", "simplicity: the ℓ₂ path norm"),
    # baselines
    "val_acc": Name("validation accuracy (oracle)", "", "", "accuracy on held-out labelled images: the "
                    "reference a practitioner would use", short="validation oracle"),
    "mean_conf": Name("mean confidence", "", "", "the network's mean top-class probability on probe images"),
    "entropy_bits": Name("mean predictive entropy", "", "bits", "the mean entropy of the predicted "
                         "class distribution", short="entropy"),
    # outcomes
    "test_acc": Name("test accuracy", "", "", "accuracy on the evaluation half of the test set"),
    "train_acc": Name("training accuracy", "", "", ""),
    "test_err": Name("test error", "", "", ""),
    "test_loss": Name("test loss", "", "", "cross-entropy on test images"),
    "train_loss": Name("training loss", "", "", ""),
    "gap_acc": Name("generalisation gap (accuracy)", "", "", "training minus test accuracy"),
    "gap_loss": Name("generalisation gap (loss)", "", "", "test minus training loss"),
    # settings
    "n_train": Name("training images", "n"),  # a bare "n" (matrix size, |U|, networks) keeps its name
    "width": Name("width"), "depth": Name("depth"), "lr": Name("learning rate", "η"),
    "batch_size": Name("batch size", "B"), "seed": Name("seed"), "epochs": Name("epochs"),
    # statistics
    "rho": Name("Spearman ρ", "ρ"), "rho_raw": Name("Spearman ρ", "ρ"),
    "rho_oriented": Name("ρ, oriented by hypothesis", "ρ̃", "", "Spearman ρ with the sign flipped "
                         "where the hypothesis predicts a negative correlation: > 0 supports it"),
    "p": Name("p", "p"), "p_holm": Name("p (Holm-adjusted)", "p_Holm"),
    "ci95": Name("95 % CI"), "ci_lo": Name("CI low"), "ci_hi": Name("CI high"),
    "partial_rho": Name("partial ρ", "ρ_partial", "", "Spearman ρ after a control is regressed out of "
                        "both ranks (the final training loss in chapters 04 and 05, the validation "
                        "oracle in claim IV)"),
    "psi": Name("Ψ (mean sign error)", "Ψ", "", "Jiang et al.'s mean sign error over environments: "
                "0.5 is chance, lower is better"),
}

NAMES.update({
    # more statistics
    "kendall_tau": Name("Kendall τ", "τ"), "tau": Name("Kendall τ", "τ"), "p_kendall": Name("p (Kendall τ)"), "kendall_p": Name("p (Kendall τ)"),
    "partial_p": Name("p (partial ρ)"), "sign": Name("hypothesised sign"),
    "sign_error_max": Name("worst-case sign error"), "sign_error_mean": Name("mean sign error"),
    "psi_lo": Name("Ψ, CI low"), "psi_hi": Name("Ψ, CI high"),
    "psi_between": Name("Ψ without same-configuration pairs"),
    "advantage_pp": Name("small-batch advantage", "", "pp"),
    # Wen et al.: the per-seed checks (final test accuracy and Hessian trace of each run)
    "gd_acc": Name("GD + WD test accuracy"), "gd_trace": Name("GD + WD Hessian trace"),
    "sam_acc": Name("1-SAM test accuracy"), "sam_trace": Name("1-SAM Hessian trace"),
    "sam_peak_acc": Name("1-SAM peak test accuracy"), "sgd_acc": Name("SGD test accuracy"),
    "sgd_trace": Name("SGD Hessian trace"), "control_acc": Name("control test accuracy"),
    "control_trace": Name("control Hessian trace"), "trace_ratio": Name("trace ratio (1-SAM / GD + WD)"),
    "bn_acc": Name("Sim-BN 1-SAM test accuracy"), "bn_feature_ratio": Name("Sim-BN feature ratio"),
    "train_mse": Name("training MSE"), "hutchinson": Name("Hutchinson trace estimate"),
    "hutchinson_se": Name("Hutchinson standard error"),
    "lambda_max_residual": Name("λ_max's Lanczos residual"), "max_abs_df_test": Name(
        "largest change of a test output under the rescaling"),
    "test_acc_random_ties": Name("test accuracy, ties broken at random"),
    "frac_test_outputs_zero": Name("fraction of test outputs exactly 0"),
    "active_neurons": Name("active neurons"), "rel_err_bound": Name("relative distance to the bound"),
    "dense_trace_small": Name("trace by the dense Hessian (small copy)"),
    "closed_form_trace_small": Name("closed-form trace (small copy)"),
    "first_layer_norm": Name("first-layer norm"), "projected_norm": Name("projected norm"),
    "trace_at_projected_norm": Name("trace at the projected norm"),
    "train_mse_at_projected_norm": Name("training MSE at the projected norm"),
    "max_abs_df_at_projected_norm": Name("largest output change at the projected norm"),
    "w_1": Name("first input weight", "w₁"), "w_2": Name("second input weight", "w₂"),
    "norm_w_rest": Name("norm of the other input weights"),
    # datasets and verdicts (cell values)
    "mnist": Name("MNIST"), "fashion_mnist": Name("Fashion-MNIST"),
    "reproduced": Name("reproduced"), "partially_reproduced": Name("partially reproduced"),
    "not_reproduced": Name("not reproduced"),
})

#: the diagnostic columns (not in the glossary, which lists the book's measures)
NAMES.update({k: Name(*v) for k, v in DIAGNOSTICS.items()})

_KINDS = {"w1": ("W1 (surviving completions)", "W₁", "bits"), "mean_A": ("mean |A|", "|A|", ""),
          "frac_single": ("fraction with |A| = 1", "", "")}
_MEANINGS = {"w1": "mean over probe images of log₂(2^|A| − 1), A the labels permitted at threshold {t}; "
                   "higher = weaker",
             "mean_A": "mean number of labels permitted at threshold {t}",
             "frac_single": "fraction of probe images with one permitted label at threshold {t}"}
_SUFFIX = {"": "", "_cal": ", calibrated", "_alt": ", other probe split"}
_THRESHOLDED = re.compile(r"^(?P<kind>w1|mean_A|frac_single)_(?P<form>tau|delta)(?P<v>[0-9.e+-]+?)"
                          r"(?P<suffix>_cal|_alt)?$")


def name(column: str) -> Name:
    """The :class:`Name` of a stored column (W1-type variants are parsed from their threshold)."""
    if column in NAMES:
        return NAMES[column]
    m = _THRESHOLDED.match(column)
    if m is None:
        base = column.removesuffix("_se")
        if base != column and (base in NAMES or _THRESHOLDED.match(base)):
            return Name(f"{label(base)}, standard error")
        return Name(column)
    kind, symbol, unit = _KINDS[m["kind"]]
    sym = "τ" if m["form"] == "tau" else "δ"
    base = kind.split(" (")[0] if m["kind"] == "w1" else kind
    return Name(f"{base} ({sym} = {m['v']}){_SUFFIX[m['suffix'] or '']}", symbol, unit,
                _MEANINGS[m["kind"]].format(t=f"{sym} = {m['v']}") + _SUFFIX[m["suffix"] or ""])


def label(column: str, unit: bool = False) -> str:
    """A column as a reader writes it, e.g. ``w1_tau0.01`` → "W1 (τ = 0.01)"; with its unit in
    brackets when ``unit`` (unless the label already ends with it, "training wall time (s)")."""
    n = name(column)
    return f"{n.label} [{n.unit}]" if unit and n.unit and not n.label.endswith(f"({n.unit})") else n.label


_WORD = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9.]*[A-Za-z0-9])+")


def known(word: str) -> bool:
    """True if ``word`` is a stored name this module gives a reader's name to."""
    return name(word) != Name(word)


def in_text(text: str, short: bool = False) -> str:
    """``text`` with every stored name in it (a word with an underscore, e.g. "Δ lambda_max")
    replaced by its reader's name (its short form when ``short``); a text that is one stored name
    (``w2``) is replaced whole."""
    say = globals()["short"] if short else label
    if known(text):
        return say(text)
    return _WORD.sub(lambda m: say(m[0]) if known(m[0]) else m[0], text)


def short(column: str) -> str:
    """The short form of a column for figures (``w2`` → "W2", ``lambda_max`` → "λ_max")."""
    n = name(column)
    return n.short or n.label


def readable(frame: pd.DataFrame, unit: bool = False) -> pd.DataFrame:
    """``frame`` with columns (and a named index) renamed by :func:`label`."""
    out = frame.rename(columns={c: label(c, unit) for c in frame.columns if isinstance(c, str)})
    if isinstance(out.index.name, str):
        out.index.name = label(out.index.name, unit)
    return out


def minus(text: Any) -> str:
    """``text`` with each hyphen-minus that is a sign (before a digit, not inside a word) → "−"."""
    return re.sub(r"(?<![\w.])-(?=\.?\d)", MINUS, str(text))


def signed(x: Any, digits: int = 2) -> str:
    """``x`` to ``digits`` decimals with an explicit sign and a true minus (``+0.31``, ``−0.72``);
    "—" for a missing value (``None`` or NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return minus(f"{float(x):+.{digits}f}")


def num(x: Any, digits: int = 3, signed: bool = False) -> str:
    """One number format for the book: counts (integer types, or whole floats below 10⁵) with
    thousands separators and no ``.0``; otherwise ``digits`` significant figures, scientific as
    ``1.53 × 10⁷`` outside [10⁻³, 10⁵); true minus signs; ``signed`` adds "+" to positives."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, bool):
        return str(x)
    counted = isinstance(x, int) or type(x).__name__.startswith(("int", "uint"))
    if counted or (float(x).is_integer() and abs(float(x)) < 1e5):
        text = f"{int(x):+,}" if signed else f"{int(x):,}"
        return minus(text)
    ax = abs(float(x))
    if ax != 0 and (ax < 1e-3 or ax >= 1e5):
        mant, exp = f"{float(x):.{digits - 1}e}".split("e")
        text = f"{'+' if signed and float(x) > 0 else ''}{mant} × 10{str(int(exp)).translate(_SUPERSCRIPT)}"
        return minus(text)
    if ax >= 10 ** digits:  # 1234.5 → "1,235", not "1.23e+03"
        return minus(f"{round(float(x)):+,}" if signed else f"{round(float(x)):,}")
    text = f"{float(x):+.{digits}g}" if signed else f"{float(x):.{digits}g}"
    return minus(text)


#: the W1-type columns the glossary lists (one per kind and threshold form; the others read alike)
GLOSSARY_THRESHOLDED: tuple[str, ...] = ("w1_tau0.01", "w1_delta1", "mean_A_tau0.01", "frac_single_tau0.01")


def glossary(columns: list[str] | None = None) -> pd.DataFrame:
    """The methods page's table: every described name with its symbol, unit, meaning and the
    column it is stored as (W1-type columns by one example per kind)."""
    keys = columns or [*GLOSSARY_THRESHOLDED[:1],
                       *(k for k, v in NAMES.items() if v.meaning and k not in DIAGNOSTICS),
                       *GLOSSARY_THRESHOLDED[1:]]
    rows = [{"name": name(k).label, "symbol": name(k).symbol, "unit": name(k).unit,
             "meaning": name(k).meaning, "stored as": k} for k in keys]
    return pd.DataFrame(rows).set_index("name")


def optimiser(train: Any, *, epochs: bool = True) -> str:
    """A training recipe in words: "SGD, learning rate 0.05, momentum 0.9, batch 64, 20 epochs"
    (``train``: a study's typed ``train`` block or a mapping of its fields; ``epochs=False`` leaves
    the epochs out)."""
    if dataclasses.is_dataclass(train):
        train = dataclasses.asdict(train)
    kind = {"sgd": "SGD", "adam": "Adam", "adam_fused": "Adam",
            "gd": "full-batch gradient descent"}.get(
        str(train.get("optimizer")), str(train.get("optimizer")))
    parts = [kind, f"learning rate {train['lr']:g}"]
    if train.get("momentum"):
        parts.append(f"momentum {train['momentum']:g}")
    if train.get("weight_decay"):
        parts.append(f"weight decay {train['weight_decay']:g}")
    if train.get("optimizer") != "gd" and train.get("batch_size"):
        parts.append(f"batch {train['batch_size']}")
    if epochs and train.get("epochs"):
        parts.append(f"{train['epochs']} epochs")
    return ", ".join(parts)
