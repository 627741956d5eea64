"""Tables, figures, glue values and prose of chapters 04 (MNIST) and 05 (Fashion-MNIST).

The two chapters differ only by their ``study`` parameter: every table, figure and sentence
computed from results lives here and takes the :func:`weakness_lib.studies.bennett.head_to_head.analyse`
result (``chapter.load(study, scale)``). Glue keys are prefixed by the claim id in lower case
(``b6_…`` in chapter 04, ``b7_…`` in chapter 05). Nothing here computes a unit or writes a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.views import names, style

#: measures shown beside the four registered ones in the "other targets" table
EXTRA_MEASURES: tuple[str, ...] = ("trace", "sam", "pacbayes_bound", "l2_norm", "entropy_bits")
#: the secondary measures whose ρ and p are glued and listed under the verdict
SECONDARY: tuple[str, ...] = ("secondary_weakness", "primary_sharpness", "primary_simplicity")


def setup() -> None:
    """Plot style and display width shared by the chapters."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    pd.set_option("display.width", 200)


def py(value: Any) -> Any:
    """numpy scalar → Python number (glue formats only plain numbers)."""
    return value.item() if hasattr(value, "item") else value


def _acc(result: Mapping[str, Any]) -> pd.DataFrame | None:
    from weakness_lib.studies.bennett.head_to_head import PRIMARY_TARGET

    return result["stats"]["tables"].get(PRIMARY_TARGET)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def overview(result: Mapping[str, Any]) -> pd.DataFrame:
    """The networks: sizes of the data, accuracy summary and compute time."""
    cfg, frame, wall = result["settings"], result["frame"], result["wall"]
    return pd.Series({
        "networks": len(frame), "training images": cfg.n_train, "probe images (W1)": cfg.n_probe,
        "W2 probe images": cfg.w2_probe, "curvature batch": cfg.curvature_batch,
        "epochs": cfg.train.epochs,
        "train accuracy (mean)": f'{frame["train_acc"].mean():.4f}',
        "test accuracy mean ± sd": f'{frame["test_acc"].mean():.4f} ± {frame["test_acc"].std():.4f}',
        "test accuracy range": f'{frame["test_acc"].min():.4f} – {frame["test_acc"].max():.4f}',
        "wall time, sum over networks (s)": f'{wall["compute_s"]:.0f}',
        "… of which training (s)": f'{wall["train_s"]:.0f}',
        "… of which measures (s)": f'{wall["measure_s"]:.0f}',
        "wall time, first → last stored network (s)": f'{wall["elapsed_s"]:.0f}',
    }).to_frame("value")


def comparison(result: Mapping[str, Any]):  # -> pandas Styler
    """Ours vs the paper (primary measures against test accuracy), raw and oriented signs."""
    c = result["comparison"]
    # the interval beside ρ and before the p-values: a 7-column view shows ρ, its CI and Holm's p
    c = c[[k for k in c.columns if k not in ("p", "ci_lo", "ci_hi", "p_holm")] + ["ci_lo", "ci_hi", "p_holm", "p"]]
    return c.style.format(
        {"rho_raw": "{:+.3f}", "rho_oriented": "{:+.3f}", "p": "{:.3g}", "p_holm": "{:.3g}",
         "ci_lo": "{:+.3f}", "ci_hi": "{:+.3f}"}, na_rep="—")


def measures(result: Mapping[str, Any]):  # -> pandas Styler | None
    """Every measure against test accuracy, sorted by oriented ρ; prints the constant columns."""
    acc = _acc(result)
    constant = result["stats"]["constant"]
    if constant:
        print("constant across networks (no ρ):", ", ".join(constant))
    if acc is None:
        return None
    cols = ["measure", "family", "sign", "rho", "rho_oriented", "ci_lo", "ci_hi", "p_holm", "p", "kendall_tau"]
    cols += [c for c in ("partial_rho", "partial_p") if c in acc]
    return (acc[cols].sort_values("rho_oriented", ascending=False).style.format(precision=3)
            .format({"p": "{:.2g}", "p_holm": "{:.2g}"}))


def other_targets(result: Mapping[str, Any]):  # -> pandas Styler | None
    """The registered and a few other measures against test error and the two gaps."""
    cfg = result["settings"]
    tables = [t for k, t in result["stats"]["tables"].items() if k != "test_acc"]
    if not tables:
        return None
    other = pd.concat(tables, ignore_index=True)
    keep = [cfg.primary_weakness, cfg.secondary_weakness, cfg.primary_sharpness,
            cfg.primary_simplicity, *EXTRA_MEASURES]
    cols = ["target", "measure", "family", "rho", "rho_oriented", "ci_lo", "ci_hi", "p_holm", "p"]
    return (other[other["measure"].isin(keep)][cols].style.format(precision=3)
            .format({"p": "{:.2g}", "p_holm": "{:.2g}"}))


# ---------------------------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------------------------
def scatter(result: Mapping[str, Any]):  # -> matplotlib Figure
    """Test accuracy against six measures, one point per network, with the raw ρ in the title:
    three rows of two panels sharing the accuracy axis (legible in a phone's column)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    cfg, frame = result["settings"], result["frame"]
    pick = [(cfg.primary_weakness, "weakness (primary)"), (cfg.secondary_weakness, "weakness"),
            ("entropy_bits", None), (cfg.primary_sharpness, "sharpness"),
            ("trace", "sharpness"), (cfg.primary_simplicity, "complexity")]
    acc = _acc(result)
    rho = {} if acc is None else dict(zip(acc["measure"], acc["rho"], strict=True))
    fig, axes = plt.subplots(3, 2, figsize=style.figsize(3, 2, panel_aspect=0.8), sharey=True)
    for ax, (col, role) in zip(axes.flat, pick, strict=True):
        sns.regplot(data=frame, x=col, y="test_acc", ax=ax, ci=None,
                    scatter_kws={"s": 8, "alpha": 0.7}, line_kws={"lw": 1})
        r = rho.get(col)
        title = names.short(col) if role is None else f"{role.split(' (')[0]}: {names.short(col)}"
        ax.set_title(f"{title}\nρ = {names.minus(f'{r:+.3f}')}" if r is not None else f"{title}\n(constant)")
        ax.set_xlabel("")
        ax.set_ylabel(names.label("test_acc") if ax in axes[:, 0] else "")
        ax.xaxis.set_major_locator(MaxNLocator(3))
    fig.suptitle(f"{result['dataset_label']}: {len(frame)} networks differing only by seed")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Verdict, glue values and dataset-aware prose
# ---------------------------------------------------------------------------------------------
def fit_caveat(result: Mapping[str, Any]) -> str:
    """The caveat about the final iterate, for what this dataset's training actually reached."""
    frame, label = result["frame"], result["dataset_label"]
    mean = float(frame["train_acc"].mean())
    if float(frame["train_acc"].min()) >= 1.0:
        return (f"Every network reached 100 % train accuracy on {label} with this recipe, so the "
                "measures are taken at interpolating solutions; the partial-ρ column (controlling "
                "for the final training loss) shows how much of each correlation is carried by how far "
                "each run drove the training loss down.")
    return (f"Training does not reach 100 % train accuracy on {label} with this recipe (mean "
            f"{mean:.4f}), so every measure taken at the final iterate also reflects where in the "
            "optimisation noise each run stopped; the partial-ρ column (controlling for the final "
            "training loss) shows how much of each correlation survives that confound.")


def primary_p(result: Mapping[str, Any]) -> float:
    """The two-sided p of the primary weakness estimator against test accuracy, from the stored
    statistics (the claim file keeps its ρ, CI and verdict, not this p); 1 where ρ is undefined."""
    acc = _acc(result)
    hit = None if acc is None else acc[acc["measure"] == result["settings"].primary_weakness]
    return 1.0 if hit is None or hit.empty else float(hit["p"].iloc[0])


def glue_values(result: Mapping[str, Any], claim: Mapping[str, Any]) -> dict[str, Any]:
    """Every number (and text) the chapter's prose quotes, by glue key (``b6_…`` / ``b7_…``): the
    verdict, ρ, CI and secondary measures from the claim file ``claim`` (B6 or B7, as the runner
    wrote it), the rest from the stored table."""
    frame, d = result["frame"], claim["details"]
    prefix = result["claim_id"].lower()
    ci = claim["ci95"]
    values: dict[str, Any] = {
        "verdict": claim["verdict"], "verdict_words": claim["verdict"].replace("_", " "),
        "rho": claim["our_value"], "p": primary_p(result),
        "ci_lo": ci[0] if ci else float("nan"), "ci_hi": ci[1] if ci else float("nan"),
        "n": len(frame), "acc_mean": frame["test_acc"].mean(), "acc_sd": frame["test_acc"].std(),
        "wall_s": result["wall"]["compute_s"], "fit_caveat": fit_caveat(result),
    }
    for label in SECONDARY:
        r = d.get(label)
        values[f"{label}_rho"] = float("nan") if r is None else r["rho_raw"]
        values[f"{label}_p"] = float("nan") if r is None else r["p"]
    values.update(strongest(result))
    return {f"{prefix}_{k}": py(v) for k, v in values.items()}


#: the sharpness measures whose ρ against test accuracy the prose quotes (glue ``…_sam_rho`` etc.)
QUOTED_SHARPNESS: dict[str, str] = {"sam": "sam", "asam": "asam"}


def strongest(result: Mapping[str, Any]) -> dict[str, Any]:
    """Which measures predict test accuracy most strongly (largest |ρ|), sharpness against weakness:
    the ρ and p of SAM, adaptive SAM and the primary sharpness measure, the strongest weakness
    estimator (either sign), and a sentence that says which family leads (unprefixed glue keys)."""
    acc, cfg, label = _acc(result), result["settings"], result["dataset_label"]
    nan = float("nan")
    rows = {} if acc is None else {m: r for m, r in zip(acc["measure"], acc.to_dict("records"), strict=True)}
    out: dict[str, Any] = {}
    for key, measure in {**QUOTED_SHARPNESS, "lmax": cfg.primary_sharpness}.items():
        r = rows.get(measure, {})
        out.update({f"{key}_rho": r.get("rho", nan), f"{key}_p": r.get("p", nan), f"{key}_p_holm": r.get("p_holm", nan)})
    ranked = [] if acc is None else sorted(
        (r for r in rows.values() if r["family"] in ("sharpness", "weakness") and pd.notna(r["rho"])),
        key=lambda r: -abs(r["rho"]))
    weak = [r for r in ranked if r["family"] == "weakness"]
    best = weak[0] if weak else {}
    out.update(best_weak=names.label(best["measure"]) if best else "none", best_weak_rho=best.get("rho", nan),
               best_weak_p_holm=best.get("p_holm", nan),
               best_weak_direction=("" if not best else
                                    "in the hypothesised direction (weaker networks are more accurate)"
                                    if best["rho_oriented"] > 0 else
                                    "against the hypothesised direction (less weak networks are more accurate)"))
    lead = next((i for i, r in enumerate(ranked) if r["family"] == "weakness"), len(ranked))
    if not ranked:
        out["strongest_words"] = f"On {label}, no measure varies across the networks."
    elif lead == 0:
        out["strongest_words"] = (f"On {label}, a weakness estimator, {names.label(ranked[0]['measure'])}, "
                                  "predicts test accuracy at least as strongly (|ρ|) as any sharpness measure.")
    else:
        flat = all(r["rho_oriented"] > 0 for r in ranked[:lead])
        out["strongest_words"] = (
            f"On {label}, flatness predicts test accuracy more strongly than any weakness estimator: the "
            f"{lead} measures with the largest |ρ| are all sharpness measures"
            + (", each with the sign of 'flatter networks are more accurate'." if flat else
               ", though not all with the sign of 'flatter networks are more accurate'.")
            + _given_loss(ranked))
    return out


def _given_loss(ranked: list[dict[str, Any]]) -> str:
    """Whether the lead of the measure with the largest |ρ| survives the confound the chapter names:
    the partial ρ given the final training loss (a sentence, empty without partial ρ)."""
    have = [r for r in ranked if pd.notna(r.get("partial_rho"))]
    if not have:
        return ""
    top, best = ranked[0], max(have, key=lambda r: abs(r["partial_rho"]))
    if best["measure"] == top["measure"]:
        return (f" Controlling for the final training loss, {names.label(top['measure'])} still leads "
                f"(partial ρ = {names.signed(top['partial_rho'], 3)}).")
    return (f" But much of this follows the final training loss: controlling for it (partial ρ), "
            f"{names.label(top['measure'])} falls to {names.signed(top['partial_rho'], 3)} "
            f"(p = {names.num(top['partial_p'], 2)}) and the strongest is {names.label(best['measure'])}, "
            f"a {best['family']} measure ({names.signed(best['partial_rho'], 3)}, "
            f"p = {names.num(best['partial_p'], 2)}).")


def verdict_markdown(result: Mapping[str, Any], claim: Mapping[str, Any]) -> str:
    """The verdict of the claim file ``claim`` under the registered rule, with the paper's values and
    the secondary measures."""
    cfg, d = result["settings"], claim["details"]
    paper = result["rule"]["target"]["weakness"]
    ci = "undefined" if claim["ci95"] is None else f"[{claim['ci95'][0]:+.3f}, {claim['ci95'][1]:+.3f}]"
    lines = [f"**Verdict (pre-registered rule): {claim['verdict'].replace('_', ' ')}.** Primary weakness "
             f"{names.label(cfg.primary_weakness)}: ρ = {claim['our_value']:+.3f}, p = "
             f"{names.num(primary_p(result), 3)}, 95 % CI {ci} (paper: {paper['rho']:+.3f}, p = "
             f"{names.num(paper['p'], 3)})."]
    for label in SECONDARY:
        r = d.get(label)
        if r is None:
            continue
        extra = (f"; consistent with the paper: {style.yes_no(r['consistent_with_paper'])} "
                 f"({r['compared_with'].replace('RAW', 'raw')})" if "consistent_with_paper" in r else "")
        extra += (f"; under the primary's rule: {r['rule_outcome'].replace('_', ' ')}"
                  if "rule_outcome" in r else "")
        lines.append(f"* {label.replace('_', ' ')}, {names.label(r['measure'])}: raw ρ = {r['rho_raw']:+.3f}, "
                     f"oriented ρ = {r['rho_oriented']:+.3f}, p = {names.num(r['p'], 3)} "
                     f"(Holm {names.num(r['p_holm'], 3)}){extra}")
    return "\n".join(lines)


def verdict(result: Mapping[str, Any], claim: Mapping[str, Any]):  # -> IPython Markdown
    """Glue every quoted value (:func:`glue_values`) and return the verdict of the claim file
    ``claim`` as Markdown."""
    from IPython.display import Markdown
    from myst_nb import glue

    for key, value in glue_values(result, claim).items():
        glue(key, value, display=False)
    return Markdown(verdict_markdown(result, claim))


def pilot_disclosure(study: str):  # -> IPython Markdown
    """The registration's pilot disclosure, quoted verbatim from ``configs/<study>.yaml``: what was
    known before the run (for the head-to-heads, a calibration pilot from the project's reference
    notes, not run with this code), shown as the registration's words, not as results."""
    from IPython.display import Markdown

    from weakness_lib.core.config import load_registration

    text = " ".join(str(load_registration(study)["pilot_disclosure"]).split())
    return Markdown(f"*The registration's pilot disclosure (`configs/{study}.yaml`), verbatim:*\n\n> {text}")
