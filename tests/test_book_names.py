"""No code identifier in the rendered book's tables and no e-notation in its text (issue 18,
"Readable names, one place"): the scanner (weakness_lib.publish.scan) on small pages, and on every
page of the smoke book (the ``smoke_book`` fixture lives in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from weakness_lib.publish import scan
from weakness_lib.views import names

#: pages whose subject is the code itself (the API reference and Sphinx's generated indexes)
CODE_PAGES = ("book/api.html", "genindex.html", "py-modindex.html", "search.html")


def test_scanner_finds_stored_names_in_headers_and_cells():
    page = ("<table><thead><tr><th>measure</th><th>p_holm</th></tr></thead><tbody>"
            "<tr><td>w1_tau0.01</td><td>mean_A_tau0.05 and wen_verdicts.accuracy_ci95.</td></tr></tbody></table>"
            "<p>w2_frac outside a table is prose, not a table cell</p>")
    assert scan.identifiers(page) == ["p_holm", "w1_tau0.01", "mean_A_tau0.05", "wen_verdicts.accuracy_ci95"]


def test_scanner_ignores_code_symbols_and_readable_names():
    page = ("<table><tr><th>W1 (τ = 0.01)</th><th>λ_max</th><th>p_Holm</th></tr>"
            "<tr><td><code>results/full/claims/B6.json</code></td>"
            "<td>run <code class='docutils'><span class='pre'>weakness-repro run head_to_head_mnist</span></code></td>"
            "<td>2,000</td></tr></table>")
    assert scan.identifiers(page) == []


def test_e_notation_is_found_in_prose_and_cells_but_not_in_code():
    page = ("<p>differ by 2.8e-16 and 1e+05; a seed of 1e3</p><table><tr><td>3.0E-4</td></tr></table>"
            "<pre>lr = 1e-3</pre><p><code>torch.tensor(2e-8)</code>, w2e3, 10⁻¹⁶, version 2.14.1</p>"
            "<script>var x = 5e-1;</script>")
    assert scan.e_notation(page) == ["2.8e-16", "1e+05", "1e3", "3.0E-4"]
    assert scan.e_notation("<p>p = 2.7e−12 (a true minus in the exponent)</p>") == ["2.7e−12"]
    assert scan.e_notation("<p>2.8 × 10⁻¹⁶, ρ = −0.72, seeds 8000–8019</p>") == []


def test_hyphen_signs_are_found_in_prose_and_cells_but_not_in_code_maths_or_words():
    page = ("<p>W1 gives -0.086 and λ_max -.5</p><table><tr><td>[-0.492, −0.101]</td></tr></table>"
            "<pre>x = -1</pre><p><code>--workers 2 -n 2</code> \\(J^{-1} H\\) seed-0, 2026-12-04, "
            "top-1, 1-SAM, ρ = −0.72</p>")
    assert scan.hyphen_signs(page) == ["-0.086", "-.5", "-0.492"]
    assert scan.hyphen_signs("<p>ρ = −0.72, seeds 8000–8019, 10⁻⁴</p>") == []


def test_is_identifier():
    assert scan.is_identifier("rho_oriented") and scan.is_identifier("mean_A_delta2")
    assert not scan.is_identifier("p_Holm") and not scan.is_identifier("S_SAM")


#: the identifiers the diagnostic tables of chapters 01, 02, 03, 06, 09 showed before they had
#: readers' names (issue 18): each is now named in weakness_lib.views.names(_table)
DIAGNOSTIC_COLUMNS = (
    "lambda_max_ratio", "trace_predicted", "max_abs_dlogit", "lanczos_hvps", "lanczos_residual",
    "max_change", "change_layer1", "change_chain", "max_rel_diff", "steps_se",
    "all_exchangeable", "all_monotone", "biased_monotone", "biased_reversal", "biased_spread",
    "closed_form_matches", "extent_mdl", "extent_wmax", "frac_mdl_wmaximiser", "kl_max_err",
    "max_closed_form_err", "max_spread", "maximiser_regret_max", "min_step", "n_families", "n_profiles",
    "n_trials", "n_weakness_values", "n_x", "n_y", "nonmaximiser_regret_min", "p_fisher_z", "p_t",
    "powerset_err", "q_u", "rate_mdl", "rate_wmax", "rho_bound_weakness", "strictly_decreasing",
    "sam_trace_hutchinson", "final_train_acc", "final_train_loss", "train_epochs", "train_wall_s",
    "units_compared", "units_differing")


@pytest.mark.parametrize("column", DIAGNOSTIC_COLUMNS)
def test_diagnostic_columns_have_readers_names(column):
    label = names.label(column)
    assert label != column and not scan.is_identifier(label) and scan.identifiers(
        f"<table><tr><th>{label}</th></tr></table>") == []


def test_no_two_stored_columns_share_a_name_by_accident():
    """Two stored names with one label must mean the same (e.g. ``l2_norm``/``param_norm``)."""
    same = {"weight norm", "Spearman ρ", "Kendall τ", "p (Kendall τ)"}
    labels = [names.label(k) for k in names.NAMES]
    assert {x for x in labels if labels.count(x) > 1} <= same


def test_benchmark_tables_show_functions_as_code_and_records_by_name():
    """Chapter 10: the setting's model and batch source name functions of the library (code
    formatting), its training record reads in words; λ_max and trace methods name functions."""
    from weakness_lib.views import benchmarks_chapter as bc

    results = {"curvature": bc.br.load("curvature")}
    for html in (bc.setting(results).data, bc.lambda_max(results).data, bc.trace(results).data):
        assert scan.identifiers(html) == []
    page = bc.setting(results).data
    assert "<code>build_mlp(seed=0)</code>" in page and "training wall time (s)" in page


def test_runner_workloads_read_as_words():
    from weakness_lib.views import benchmarks_book

    assert benchmarks_book.WORKLOADS["head_to_head_20"].startswith("20 head-to-head networks")


def test_own_network_errors_keep_the_message_with_library_names_as_code():
    from weakness_lib.views import own_network

    message = "path_norm needs a ReLU MLP built by weakness_lib.build_mlp, got Sequential"
    page = own_network.errors_table({"ℓ₂ path norm": message}).data
    assert scan.identifiers(page) == []
    assert "<code>path_norm</code> needs a ReLU MLP built by <code>weakness_lib.build_mlp</code>" in page


@pytest.mark.slow
def test_rendered_book_shows_no_code_identifiers_no_e_notation_and_no_hyphen_signs(request):
    given = os.environ.get("WEAKNESS_BOOK_HTML")  # a built book (CI: the published one), else the smoke book
    if given:
        html = Path(given)
        assert (html / "index.html").exists(), f"WEAKNESS_BOOK_HTML={given} has no index.html"
    else:
        out, errors, build_error = request.getfixturevalue("smoke_book")
        assert not errors and build_error is None, (errors, build_error)
        html = out / "_build" / "html"
    found = {page: words for page, words in scan.scan(html).items() if page not in CODE_PAGES}
    assert not found, "code identifiers in table headers/cells, e-notation or hyphen-minus signs in the text:\n" + "\n".join(
        f"  {page}: {', '.join(words)}" for page, words in found.items())
