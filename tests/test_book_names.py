"""No code identifier in the rendered book's tables (issue 18, "Readable names, one place"): the
scanner (weakness_lib.publish.scan) on small pages, and on every page of the smoke book (the
``smoke_book`` fixture lives in conftest.py)."""

from __future__ import annotations

import pytest

from weakness_lib.publish import scan

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


def test_is_identifier():
    assert scan.is_identifier("rho_oriented") and scan.is_identifier("mean_A_delta2")
    assert not scan.is_identifier("p_Holm") and not scan.is_identifier("S_SAM")


@pytest.mark.slow
def test_rendered_book_tables_show_no_code_identifiers(smoke_book):
    out, errors, build_error = smoke_book
    assert not errors and build_error is None, (errors, build_error)
    found = {page: words for page, words in scan.scan(out / "_build" / "html").items()
             if page not in CODE_PAGES}
    assert not found, "code identifiers in table headers/cells:\n" + "\n".join(
        f"  {page}: {', '.join(words)}" for page, words in found.items())
