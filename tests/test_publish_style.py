"""The book's figure/table style and the claim views read generically from claim files."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from weakness_lib.core.paths import project_root  # noqa: E402
from weakness_lib.publish import rerun  # noqa: E402
from weakness_lib.views import claims as cv  # noqa: E402
from weakness_lib.views import correlation as corr  # noqa: E402
from weakness_lib.views import style, tables

CLAIMS_DIR = project_root() / "results" / "full" / "claims"


def committed_claims() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CLAIMS_DIR.glob("*.json"))]


def claim(**kw) -> dict:
    base = {"claim_id": "X", "paper": "bennett2026", "statement": "s.", "paper_value": "",
            "metric": "", "our_value": 0.5, "ci95": None, "verdict": "reproduced",
            "verdict_rule": "r", "provenance": {}, "details": {}}
    return {**base, **kw}


# --- the correlation rule ---------------------------------------------------------------------
def test_correlation_rule_on_the_committed_claims():
    by_id = {c["claim_id"]: corr.is_correlation(c) for c in committed_claims()}
    assert {k for k, v in by_id.items() if v} >= {"B4", "B6", "B7"}
    for cid in ("B1", "B2", "B3", "B5", "WLM-I", "WLM-II", "WLM-III"):
        assert by_id.get(cid) is False, cid


@pytest.mark.parametrize(("metric", "value", "expected"), [
    ("Spearman ρ between the primary weakness estimator and test accuracy", -0.26, True),
    ("Spearman rank correlation ρ between W1 and test accuracy over 60 networks", 0.1, True),
    ("Spearman ρ between a and b", 1.7, False),            # not a correlation value
    ("Spearman ρ between a and b", float("nan"), False),
    ("final test accuracy of GD+WD minus that of 1-SAM", 0.33, False),
    ("advantage in percentage points (a Spearman check is reported in details)", 0.2, False),
])
def test_correlation_rule(metric: str, value: float, expected: bool):
    assert corr.is_correlation(claim(metric=metric, our_value=value)) is expected


def test_a_new_correlation_claim_appears_in_the_forest_plot():
    new = claim(claim_id="B6-R", metric="Spearman ρ between the primary weakness estimator and "
                "test accuracy", our_value=0.21, ci95=[0.02, 0.38],
                paper_value="weakness ρ = +0.374, p = 0.00012; sharpness ρ = −0.226",
                details={"primary_sharpness": {"measure": "lambda_max", "rho_raw": -0.3,
                                               "ci95_raw": [-0.5, -0.1]}})
    others = [c for c in committed_claims() if c["claim_id"] != new["claim_id"]]  # a real B6-R exists
    frame = corr.forest_frame([*others, new])
    rows = frame[frame["claim"] == "B6-R"]
    assert list(rows["family"]) == ["weakness", "sharpness"]
    assert rows["target"].tolist() == [0.374, -0.226]
    assert rows["ci_lo"].tolist() == [0.02, -0.5]
    fig = corr.forest_plot(frame)
    try:
        assert style.check(fig) >= style.MIN_TEXT_PX
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert any(label.startswith("B6-R") for label in labels)
    finally:
        plt.close(fig)


def test_a_claim_whose_own_value_is_w2_is_labelled_by_its_metric():
    new = claim(claim_id="B7-R", metric="Spearman ρ between W2 (mean number of the 12 "
                "transformations ...) and test accuracy", our_value=0.3, ci95=[0.1, 0.5],
                paper_value="weakness ρ = +0.384, p = 8.15e-5",
                details={"primary_weakness": "w1_tau0.01",
                         "secondary_weakness": {"measure": "w2", "rho_raw": 0.3, "ci95_raw": [0.1, 0.5]},
                         "w1": {"measure": "w1_tau0.01", "rho": -0.2, "ci95": None}})
    rows = corr.forest_frame([new])
    assert rows["label"].tolist() == ["weakness (W2, primary)", "weakness (W1 (τ = 0.01))"]  # no duplicate
    assert rows["target"].tolist() == [0.384, 0.384]
    assert math.isnan(rows["ci_lo"].iloc[1])


def test_paper_targets_parse_unicode_minus():
    assert corr.paper_targets("weakness ρ = +0.384, p = 8.15e-5; sharpness ρ = −0.226") == {
        "weakness": 0.384, "sharpness": -0.226}
    assert corr.paper_targets("theorem (statement only)") == {}


# --- the compact scorecard ----------------------------------------------------------------------
def test_every_committed_claim_has_a_metric_unit_and_finite_wall_time():
    for c in committed_claims():
        name, unit = cv.metric_unit(c)
        assert name and "nan" not in cv.format_value(c["our_value"], unit), c["claim_id"]
        wall = cv.wall_time(c["provenance"])
        assert wall is not None and math.isfinite(wall), c["claim_id"]
        assert "nan" not in cv.provenance_text(c["provenance"])


def test_metric_unit_of_a_metric_that_names_its_value():
    x5 = claim(metric="Per dataset, Kendall tau and granulated Psi ... The claim's value is Ψ of W2 "
                      "on MNIST.", our_value=0.078125)
    assert cv.metric_unit(x5) == ("Ψ of W2 on MNIST", "")
    assert cv.format_value(0.078125, "") == "0.07812"


def test_wall_time_from_tables_or_missing():
    assert cv.wall_time({"wall_s": 12.0}) == 12.0
    assert cv.wall_time({"tables": [{"wall_s": 1.5}, {"wall_s": 2.5}]}) == 4.0
    assert cv.wall_time({}) is None
    assert "not recorded" in cv.provenance_text({})


def test_compact_table_links_claims_to_chapters_and_shows_no_nan():
    claims = committed_claims()
    chapters = {c["claim_id"]: cv.chapter_of(c["claim_id"], project_root() / "notebooks",
                                             [f"book/generated/{p.stem}" for p in
                                              (project_root() / "notebooks").glob("*.ipynb")])
                for c in claims}
    assert chapters["B1"] == "01_reparameterisation" and chapters["WLM-III"] == "09_wen_scenario_III"
    table = cv.compact_table(claims, chapters)
    assert len(table) == len(claims)
    text = table.to_string()
    assert "nan" not in text and "None" not in text
    assert table["claim"].str.contains('href="01_reparameterisation.html"').any()


def test_the_scorecard_says_a_verdict_has_a_caveat_and_what_it_is():
    """The caveats of the chapters' result boxes reach the scorecard: WLM-I is reproduced although
    Sim-BN fails condition (d) in one seed; WLM-II has no caveat."""
    by_id = {c["claim_id"]: c for c in committed_claims()}
    table = cv.compact_table([by_id["WLM-I"], by_id["WLM-II"]], {}).set_index("claim")
    assert "with a caveat" in table.loc["WLM-I", "verdict"]
    assert "caveat" not in table.loc["WLM-II", "verdict"]
    assert "<b>Caveat.</b> Condition (d) of the rule fails in seed 0" in cv.details_html(by_id["WLM-I"], None)
    assert "Caveat." not in cv.details_html(by_id["WLM-II"], None)


def test_headline_keeps_parentheses_and_formulas_readable():
    assert cv.headline("theorem (statement only; proof not available)") == \
        "theorem (statement only; proof not available)"
    assert cv.headline("A. B.") == "A"
    assert cv.pretty_text("trace 4 sqrt(d+1) and x <= 1") == "trace 4√(d+1) and x ≤ 1"


# --- figures ------------------------------------------------------------------------------------
def test_figsize_and_grid_fit_the_design_width():
    assert style.grid(4) == (2, 2) and style.grid(3) == (2, 2) and style.grid(1) == (1, 1)
    w, h = style.figsize(2, 2)
    assert w == pytest.approx(style.FIG_IN) and h > w * 0.5
    f = style.facet(3)
    assert 3 * f["height"] * f["aspect"] == pytest.approx(style.FIG_IN, rel=1e-3)


def test_displayed_text_size_follows_the_geometry():
    # a 5 in figure on a 358 px phone column: 9 pt -> 9/72 * 358/5 = 8.95 px
    assert style.text_px(9, 5, 358) == pytest.approx(8.95)
    # never shown wider than its own pixels, nor than FIGURE_MAX_PX on a desktop
    assert style.text_px(9, 1, 2000) == pytest.approx(9 / 72 * style.DPI)
    assert style.text_px(9, 5, 2000) == pytest.approx(9 / 72 * style.FIGURE_MAX_PX / 5)
    # what the browser test computes from a PNG equals what the figure check computes
    assert style.shown_px(9, 200, 1000, 358) == pytest.approx(style.text_px(9, 5, 358))


@pytest.mark.parametrize(("font_pt", "legible"), [(9.5, True), (7.0, False)])
def test_check_on_both_sides_of_the_phone_floor(font_pt, legible):
    """At the design width, 9.5 pt is displayed at >= 9 px on the phone and 7 pt is not."""
    style.apply()
    fig, ax = plt.subplots(figsize=style.figsize())
    try:
        ax.plot([0, 1], [0, 1])  # the only text: tick labels
        ax.tick_params(labelsize=font_pt)
        if legible:
            assert style.check(fig) >= style.MIN_TEXT_PX
        else:
            with pytest.raises(ValueError, match="on a phone"):
                style.check(fig)
    finally:
        plt.close(fig)


def test_check_refuses_a_wide_figure():
    style.apply()
    wide, ax = plt.subplots(1, 4, figsize=(17, 3.4))  # the old one-row Wen curves
    try:
        for a in ax:
            a.plot([0, 1], [0, 1], label="seed 0")
            a.legend(fontsize=7)
        with pytest.raises(ValueError, match="would be displayed at"):
            style.check(wide)
    finally:
        plt.close(wide)
    ok, ax = plt.subplots(2, 1, figsize=style.figsize(2, 1, panel_aspect=0.5))
    try:
        for a in ax.flat:
            a.plot([0, 1], [0, 1], label="seed 0")
            a.legend()
        assert style.check(ok) >= style.MIN_TEXT_PX
    finally:
        plt.close(ok)


def test_png_records_the_smallest_font_and_dpi():
    from PIL import Image

    style.apply()
    fig, ax = plt.subplots(figsize=style.figsize())
    try:
        ax.plot([0, 1], [0, 1])
        ax.set_title("title", fontsize=12)
        ax.tick_params(labelsize=9.5)
        with Image.open(io.BytesIO(style.png(fig))) as im:
            meta, width_px = dict(im.text), im.size[0]
        assert float(meta[style.FONT_KEY]) == 9.5 and float(meta[style.DPI_KEY]) == style.DPI
        # the browser test's formula on the PNG agrees with the check on the figure
        shown = min(style.PHONE_COLUMN_PX, width_px)
        assert style.shown_px(9.5, style.DPI, width_px, shown) == pytest.approx(style.check(fig), rel=0.02)
    finally:
        plt.close(fig)


def test_check_and_png_draw_the_figure_once_more_than_the_print_alone():
    """check() draws once; png() reuses the print's own draw for the font sizes (no extra draw)."""
    def draws(action) -> int:
        fig, ax = plt.subplots(figsize=style.figsize(1, 2))
        ax.plot([1, 2], [3, 4])
        ax.set_title("a title")
        count = [0]
        fig.canvas.mpl_connect("draw_event", lambda _e: count.__setitem__(0, count[0] + 1))
        try:
            action(fig)
            return count[0]
        finally:
            plt.close(fig)

    alone = draws(lambda f: f.canvas.print_figure(io.BytesIO(), format="png", dpi=style.DPI,
                                                  bbox_inches="tight"))
    assert draws(style.check) == 1
    assert draws(lambda f: (style.check(f), style.png(f))) == 1 + alone


def test_wen_per_seed_table_keeps_every_rule_condition_in_view():
    import re

    from weakness_lib.views import wen

    row = {**{f"number {i}": 0.5 + i for i in range(8)}, "a": True, "b": True, "c": False, "d": True}
    page = wen.per_seed_table({"0": row, "1": row}, ["a", "b", "c", "d"]).data
    shown = page.split('<details class="full-table">')[0]
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", shown)
    assert heads == ["seed", "(a)", "(b)", "(c)", "(d)", "number 0", "number 1"]
    assert "All 13 columns" in page and 'class="key">(c)' in shown


def test_prose_numbers_become_powers_of_ten_with_true_minus_but_code_and_raw_html_keep_theirs():
    from docutils import nodes

    from weakness_lib.publish import site

    page = nodes.section()
    para = nodes.paragraph()
    para += nodes.Text("p = 3.7e-09, ratio 1.49e+07, W1 -0.086 (seed-0, 2026-12-04) and ")
    code = nodes.literal()
    code += nodes.Text("lr=1e-3 x=-1")
    para += code
    page += para
    page += nodes.math("", "x = -1")
    page += nodes.raw("", "<td>8.15e-5 -0.2</td>", format="html")
    site.prose_numbers(None, page, "chapter")
    assert para.astext() == ("p = 3.7 × 10⁻⁹, ratio 1.49 × 10⁷, W1 −0.086 (seed-0, 2026-12-04) and "
                             "lr=1e-3 x=-1")
    assert "8.15e-5 -0.2" in page.astext() and "x = -1" in page.astext()


# --- tables and prose -----------------------------------------------------------------------------
def test_table_rounds_hides_index_and_marks_missing_values():
    frame = pd.DataFrame({"rho": [0.123456, float("nan")], "n": [100, 2000], "ok": [True, False]},
                         index=[7, 9])
    with pytest.raises(ValueError, match="missing"):
        tables.table(frame)
    html = tables.table(frame, missing="not measured at n = 2,000").data
    assert "0.123" in html and "0.123456" not in html
    assert ">7<" not in html and ">9<" not in html          # no pandas index
    assert "nan" not in html.lower().replace("not measured", "")
    assert "—" in html and "not measured at n = 2,000" in html
    assert "yes" in html and "True" not in html
    assert "2,000" in html
    assert 'class="book-table' in html and "overflow-x:auto" in html


def test_fmt_number_and_prose():
    assert tables.fmt_number(15316134.4) == "1.53 × 10⁷"
    assert tables.powers_of_ten("p = 2.7e−12, 4.4e-05") == "p = 2.7 × 10⁻¹², 4.4 × 10⁻⁵"
    assert tables.powers_of_ten("max |Δf| = 0.0e+00, 1e-03") == "max |Δf| = 0, 10⁻³"
    assert tables.fmt_number(-0.5) == "−0.5"
    assert tables.fmt_number(None) == "—" and tables.fmt_number(float("nan")) == "—"
    assert style.prose("consistent with the paper: True; exact: False; not exact: ['a', 'b']") == \
        "consistent with the paper: yes; exact: no; not exact: a, b"


# --- the rerun box --------------------------------------------------------------------------------
def test_rerun_box_names_scale_and_commands():
    html = rerun.box_html("07_wen_scenario_I", "full", ["wen_scenario_1"])
    assert 'scale = "full"' in html
    assert "weakness-repro run wen_scenario_1 --scale smoke" in html
    assert "papermill notebooks/07_wen_scenario_I.ipynb" in html


def test_parameter_cells_are_hidden_but_kept():
    cells = [{"metadata": {"tags": ["parameters"]}}, {"metadata": {"tags": ["injected-parameters"]}},
             {"metadata": {}}]
    assert rerun.hide_parameter_cells(cells) == 2
    assert cells[0]["metadata"]["tags"] == ["parameters", "remove-cell"]
    assert "remove-cell" in cells[1]["metadata"]["tags"] and cells[2]["metadata"]["tags"] == []
    assert rerun.hide_parameter_cells(cells) == 0


def _is_launch_or_result_box(cell: dict) -> bool:
    """The launch bootstrap (first code cell) and the result box (right after the parameters)."""
    from weakness_lib.publish.launch import MARK

    return "".join(cell["source"]).startswith((MARK, "# the answer first"))


@pytest.mark.parametrize("notebook", sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                         + [project_root() / "notebooks" / "scorecard.ipynb"], ids=lambda p: Path(p).stem)
def test_chapter_hides_its_parameters_cell_and_shows_the_box(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and not _is_launch_or_result_box(c)]
    assert {"parameters", "remove-cell"} <= set(code[0]["metadata"]["tags"])
    assert "rerun" in "".join(code[1]["source"]).lower()
    assert "remove-input" in code[1]["metadata"].get("tags", [])


#: the tutorial chapter whose code is its content (a reader copies it); every other chapter's code
#: only imports, loads, glues and plots, so its input is hidden (expandable) and its output shown
TUTORIALS = {"11_measure_your_own_network"}


@pytest.mark.parametrize("notebook", sorted((project_root() / "notebooks").glob("*.ipynb")),
                         ids=lambda p: Path(p).stem)
def test_plumbing_code_is_hidden_from_readers(notebook: Path):
    if notebook.stem in TUTORIALS:
        pytest.skip("a tutorial shows its code")
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    shown = ["".join(c["source"]).splitlines()[0] for c in nb["cells"] if c["cell_type"] == "code"
             and not {"hide-input", "remove-input", "remove-cell"} & set(c["metadata"].get("tags", []))]
    assert not shown, f"{notebook.name}: code shown to readers (tag it hide-input): {shown}"


# --- launch buttons and the repository setting ------------------------------------------------------
def test_stage_takes_the_repository_url_from_the_environment(tmp_path, monkeypatch):
    import yaml

    from weakness_lib.publish.book import REPOSITORY_ENV, stage

    monkeypatch.setenv(REPOSITORY_ENV, "https://github.com/someone/fork")
    stage(tmp_path / "src")
    config = yaml.safe_load((tmp_path / "src" / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == "https://github.com/someone/fork"
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    assert "weakness_lib.publish.site" in config["sphinx"]["extra_extensions"]


def test_launch_buttons_open_the_committed_notebook():
    from weakness_lib.publish.site import fix_launch_urls

    url = "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/generated/07_wen_scenario_I.ipynb"
    context = {"header_buttons": [{"type": "group", "buttons": [
        {"text": "Binder", "url": url}, {"text": "repository", "url": "https://x/book/generated/"}]}]}
    fix_launch_urls(None, "book/generated/07_wen_scenario_I", "page.html", context, None)
    buttons = context["header_buttons"][0]["buttons"]
    assert buttons[0]["url"].endswith("lab/tree/notebooks/07_wen_scenario_I.ipynb")
    assert buttons[1]["url"] == "https://x/book/generated/"


def test_a_thesis_test_without_paper_value_stays_out_of_the_forest():
    """IV's partial ρ (paper "ours") is a correlation but has no paper target: its long metric
    must not become a forest label (it made the figure text unreadably small)."""
    iv = claim(claim_id="IV", paper="ours", metric="Per dataset, the partial Spearman correlation of "
               "W2 with test accuracy given the validation oracle: the Pearson correlation of the "
               "residuals of rank(W2) and rank(test_acc) after a least-squares fit", our_value=0.1,
               ci95=[-0.1, 0.3], paper_value="not a number from the paper")
    assert corr.is_correlation(iv)
    frame = corr.forest_frame([*committed_claims(), iv])
    assert "IV" not in set(frame["claim"]) and len(frame)


def test_a_wide_table_shows_seven_columns_and_collapses_the_rest():
    wide = pd.DataFrame({f"c{i}": [i, i + 0.5] for i in range(9)})
    out = tables.table(wide).data
    main, _, full = out.partition('<details class="full-table">')
    assert main.count("</th>") == tables.MAX_COLUMNS and "<summary>All 9 columns</summary>" in full
    assert full.count("</th>") == 9
    assert tables.table(wide.iloc[:, :7]).data.count("<details") == 0  # seven fit
    chosen = tables.table(wide, main=["c8", "c0"], key=["c8"]).data.partition("<details")[0]
    assert chosen.index(">c8<") < chosen.index(">c0<") and chosen.count("</th>") == 2
    assert '<th class="key">c8</th>' in chosen
    with pytest.raises(ValueError, match="at most 7"):
        tables.table(wide, main=list(wide.columns))
    with pytest.raises(ValueError, match="main columns"):
        tables.table(wide, main=["nope"])


def test_key_columns_default_to_the_first_and_both_of_a_series():
    frame = pd.DataFrame({"measure": ["a"], "rho": [0.1], "p": [0.2]})
    html = tables.table(frame).data
    assert '<th class="key">measure</th>' in html and "<th>p</th>" in html
    series = tables.table(pd.Series({"networks": 100}, name="value")).data
    import re

    assert len(re.findall(r'class="[^"]*\bkey\b', series)) == 2 + 2  # both headers, both cells of its row


def test_cells_write_powers_of_ten_not_e_notation():
    assert tables.powers_of_ten("2.759e+05") == "2.759 × 10⁵"
    assert tables.powers_of_ten("1.517e+06 ± 1e+05") == "1.517 × 10⁶ ± 10⁵"
    assert tables.powers_of_ten("lr 0.05, w2e3") == "lr 0.05, w2e3"  # not a number in e-notation
    html = tables.table(pd.DataFrame({"x": [275900.0]}), formats={"x": "{:.4g}"}).data
    assert "2.759 × 10⁵" in html and "e+05" not in html


def test_pretty_text_writes_registered_rules_in_readers_words():
    """Registered rules are shown verbatim in meaning but not in code: verdict identifiers, stored
    names, ASCII operators and hyphen signs become readers' words and symbols (second read)."""
    text = cv.pretty_text("reproduced if rho(measures.pacbayes_bound, w) < 0; partially_reproduced "
                          "if x >= 0.98 and trace <= 0.6 x max; not_reproduced otherwise; the "
                          "validation oracle val_acc; p < 8.15e-5; rho = -0.5")
    assert text == ("reproduced if rho(PAC-Bayes bound, w) < 0; partially reproduced if x ≥ 0.98 and "
                    "trace ≤ 0.6 × max; not reproduced otherwise; the validation oracle; "
                    "p < 8.15 × 10⁻⁵; rho = −0.5")


def test_an_unnamed_series_table_has_a_value_header_not_0():
    import re

    html = tables.table(pd.Series({"dataset": "MNIST", "width": 256})).data
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert heads == ["", "value"] and "dtype" not in html and "MNIST" in html
