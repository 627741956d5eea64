"""The landing page's headline figure: does anything predict which of 100 identically trained
networks generalises best?

One row per *population* (100 networks that differ only by seed; a head-to-head claim file), MNIST
and Fashion-MNIST in separate panels; per row one marker per estimator family, all read from the
claim file and all in **one sign convention, the raw Spearman ρ between the measure and test
accuracy** (the paper's own convention: weakness should be positive, sharpness negative):

* W2 (transformation compatibility, the confirmatory weakness estimator) with its 95 % CI;
* W1 (τ = 0.01, the first pre-registered weakness estimator);
* λ_max (the primary sharpness measure);
* the validation oracle (accuracy on held-out labelled images), the reference any predictor of
  generalisation has to beat;
* the paper's targets (◆), where the paper gives a number.

Nothing is recomputed; a population whose claim file is absent is left out, and one added later
(a new claim of the same kind) appears without code changes once listed in :data:`ROWS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from weakness_lib.views import correlation, style

#: claim → (dataset, row label); the order is the figure's, top to bottom
ROWS: dict[str, tuple[str, str]] = {
    "B6": ("MNIST", "chapter 4, n = 5,000"),
    "B6-R": ("MNIST", "fresh seeds, n = 5,000"),
    "B6-60k": ("MNIST", "n = 60,000"),
    "B6-60k-R": ("MNIST", "fresh seeds, n = 60,000"),
    "B7": ("Fashion-MNIST", "chapter 5, n = 5,000"),
    "B7-R": ("Fashion-MNIST", "fresh seeds, n = 5,000"),
    "B7-60k": ("Fashion-MNIST", "n = 60,000"),
}
#: estimator → (legend label, marker, palette index, filled)
MARKS: dict[str, tuple[str, str, int, bool]] = {
    "w2": ("weakness W2", "o", 0, True),
    "w1": ("weakness W1 (τ = 0.01)", "o", 0, False),
    "lambda_max": ("sharpness λ_max", "^", 1, True),
    "oracle": ("validation oracle", "*", -1, True),
}
#: estimator → vertical offset within its population's row, so no marker hides another (W2 and
#: the oracle often agree to the second decimal)
OFFSETS: dict[str, float] = {"w1": 0.2, "lambda_max": 0.07, "w2": -0.07, "oracle": -0.2}
VERDICT_WORDS = {"reproduced": "reproduced", "partially_reproduced": "partially reproduced",
                 "not_reproduced": "not reproduced"}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def estimates(claim: Mapping[str, Any]) -> dict[str, tuple[float, float, float]]:
    """``{estimator: (ρ, ci_lo, ci_hi)}`` of one head-to-head claim, raw sign (NaN CI if none)."""
    d, out = claim.get("details") or {}, {}
    own = d.get("confirmatory_weakness") or d.get("primary_weakness")
    if own in ("w2", "w1_tau0.01") and _finite(claim.get("our_value")):
        lo, hi = correlation.interval(claim.get("ci95"))
        out["w2" if own == "w2" else "w1"] = (float(claim["our_value"]), lo, hi)
    sec = d.get("secondary_weakness")
    if isinstance(sec, Mapping) and sec.get("measure") == "w2" and "w2" not in out:
        out["w2"] = (float(sec["rho_raw"]), *correlation.interval(sec.get("ci95_raw")))
    w1 = d.get("w1")
    if isinstance(w1, Mapping) and _finite(w1.get("rho")) and "w1" not in out:
        out["w1"] = (float(w1["rho"]), *correlation.interval(w1.get("ci95")))
    sharp = d.get("primary_sharpness")
    if isinstance(sharp, Mapping) and sharp.get("measure") == "lambda_max":
        out["lambda_max"] = (float(sharp["rho_raw"]), *correlation.interval(sharp.get("ci95_raw")))
    oracle = d.get("oracle")
    if isinstance(oracle, Mapping) and _finite(oracle.get("oracle_rho")):
        out["oracle"] = (float(oracle["oracle_rho"]), math.nan, math.nan)
    return out


def frame(claims: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (population, estimator): dataset, population label, claim, verdict, estimator,
    ρ, CI and the paper's target for that estimator's family (weakness or sharpness)."""
    by_id = {c["claim_id"]: c for c in claims}
    targets_of: dict[str, dict[str, float]] = {}  # the paper's targets per dataset, from any claim
    for cid, (dataset, _) in ROWS.items():
        if cid in by_id:
            for family, rho in correlation.paper_targets(str(by_id[cid].get("paper_value", ""))).items():
                targets_of.setdefault(dataset, {}).setdefault(family, rho)
    rows = []
    for cid, (dataset, label) in ROWS.items():
        claim = by_id.get(cid)
        if claim is None:
            continue
        targets = targets_of.get(dataset, {})
        for est, (rho, lo, hi) in estimates(claim).items():
            family = "weakness" if est in ("w1", "w2") else "sharpness" if est == "lambda_max" else ""
            rows.append({"dataset": dataset, "population": label, "claim": cid,
                         "verdict": claim.get("verdict"), "estimator": est, "rho": rho,
                         "ci_lo": lo, "ci_hi": hi, "target": targets.get(family, math.nan)})
    return pd.DataFrame(rows, columns=["dataset", "population", "claim", "verdict", "estimator", "rho",
                                       "ci_lo", "ci_hi", "target"])


def plot(data: pd.DataFrame, width: float = 4.8):  # -> matplotlib Figure
    """MNIST above Fashion-MNIST, one line per population, the raw ρ of each estimator on a shared
    axis from −1 to 1; the paper's targets as ◆. Sized for a phone column (text ≥ 10 pt at 4.8 in)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    colours = sns.color_palette(style.PALETTE, 8)
    datasets = [d for d in ("MNIST", "Fashion-MNIST") if d in set(data["dataset"])]
    counts = [data.loc[data["dataset"] == d, "claim"].nunique() for d in datasets]
    fig, axes = plt.subplots(len(datasets), 1, sharex=True, squeeze=False,
                             figsize=(width, 1.6 + 0.62 * sum(counts) + 0.5 * len(datasets)),
                             gridspec_kw={"height_ratios": counts or [1]})
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        sub = data[data["dataset"] == dataset]
        claims = list(dict.fromkeys(sub["claim"]))
        ys = {cid: len(claims) - 1 - i for i, cid in enumerate(claims)}
        for r in sub.itertuples():
            label, marker, colour, filled = MARKS[r.estimator]
            col, y = ("black" if colour < 0 else colours[colour]), ys[r.claim] + OFFSETS.get(r.estimator, 0.0)
            if math.isfinite(r.ci_lo):
                ax.plot([r.ci_lo, r.ci_hi], [y, y], color=col, lw=1.6 if filled else 1.0,
                        ls="-" if filled else ":", solid_capstyle="butt")
            ax.plot(r.rho, y, marker, ms=11 if marker == "*" else 8, mec=col, mew=1.5,
                    mfc=col if filled else "white", label=label, zorder=3)
            if math.isfinite(r.target) and r.estimator in ("w2", "lambda_max"):
                ax.plot(r.target, y, "D", mfc="none", mec="black", mew=1.3, ms=8,
                        label="paper's target", zorder=4)
        ax.set_yticks(list(ys.values()), [
            f"{sub.loc[sub['claim'] == c, 'population'].iloc[0]}\n{c}: "
            f"{VERDICT_WORDS.get(sub.loc[sub['claim'] == c, 'verdict'].iloc[0], '')}" for c in claims],
            fontsize=10)
        ax.set_ylim(-0.6, len(claims) - 0.4)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(dataset, fontsize=11, loc="left")
        ax.grid(axis="y", visible=False)
    ax = axes[-1, 0]
    ax.set_xlim(-1, 1)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["−1", "−0.5", "0", "0.5", "1"])
    ax.tick_params(axis="x", labelsize=10)
    ax.set_xlabel("Spearman ρ with test accuracy (raw sign)", fontsize=10.5)
    handles = {}
    for a in axes[:, 0]:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    legend_in = 0.24 * math.ceil(len(handles) / 2) + 0.05
    fig.tight_layout(rect=(0, legend_in / fig.get_size_inches()[1], 1, 1))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, 0), fontsize=10, handletextpad=0.3, columnspacing=1.0)
    return fig
