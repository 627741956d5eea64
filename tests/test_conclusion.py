"""The landing page's conclusion and headline figure (views.conclusion, views.populations): every
qualitative word follows from a rule on the claim files, tested on both sides of each rule."""

from __future__ import annotations

import copy
import re

import pytest

from weakness_lib.views import conclusion, populations


def _population(cid: str, w2: float, w1: float, lam: float, lam_hi: float,
                oracle: tuple[float, float] | None = None) -> dict:
    details = {"primary_weakness": "w1_tau0.01", "confirmatory_weakness": "w2",
               "w1": {"measure": "w1_tau0.01", "rho": w1, "p": 0.01, "ci95": [w1 - 0.2, w1 + 0.1]},
               "primary_sharpness": {"measure": "lambda_max", "rho_raw": lam, "ci95_raw": [lam - 0.1, lam_hi]}}
    if oracle is not None:
        details["oracle"] = {"oracle_rho": w2 + 0.05, "difference_ci95": list(oracle)}
    return {"claim_id": cid, "verdict": "reproduced", "our_value": w2, "ci95": [w2 - 0.15, w2 + 0.15],
            "paper_value": "weakness ρ = +0.374, p = 0.00012; sharpness ρ = −0.226",
            "metric": "Spearman ρ between W2 and test accuracy", "details": details}


CLAIMS = [_population("B6-R", 0.2, -0.1, -0.1, 0.05, (-0.2, 0.1)),
          _population("B7-R", 0.3, -0.2, -0.5, -0.3, (-0.6, -0.3)),
          {"claim_id": "B1", "verdict": "reproduced", "our_value": 1.5e7, "details": {"predictions_changed": 0}}]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_estimates_read_every_family_in_the_raw_sign():
    est = populations.estimates(CLAIMS[1])
    assert est["w2"][0] == 0.3 and est["w1"][0] == -0.2 and est["lambda_max"][0] == -0.5
    assert est["oracle"][0] == pytest.approx(0.35)
    frame = populations.frame(CLAIMS)
    assert set(frame["claim"]) == {"B6-R", "B7-R"}
    assert set(frame.loc[frame["estimator"] == "lambda_max", "target"]) == {-0.226}


def test_oracle_sentence_only_when_no_population_shows_weakness_ahead():
    assert "no better than accuracy on held-out" in _text(conclusion.short_html(CLAIMS))
    ahead = copy.deepcopy(CLAIMS)
    ahead[0]["details"]["oracle"]["difference_ci95"] = [0.01, 0.3]  # weakness better on one population
    assert "no better than" not in _text(conclusion.short_html(ahead))
    assert "adds information beyond a validation set" in _text(conclusion.html_text(ahead))


def test_w1_is_called_negative_only_when_negative_everywhere_and_counts_its_cis():
    said = "correlates negatively with test accuracy on all 2 populations (its CI lies below 0 on 1)"
    assert said in _text(conclusion.short_html(CLAIMS))
    mixed = copy.deepcopy(CLAIMS)
    mixed[0]["details"]["w1"]["rho"] = 0.05
    assert "correlates negatively" not in _text(conclusion.short_html(mixed))
    assert "points the other way" not in _text(conclusion.html_text(mixed))


def test_sharpness_is_named_only_where_it_beats_w2_with_a_ci_below_zero():
    assert [c for c, *_ in conclusion.sharper_than_weakness({c["claim_id"]: c for c in CLAIMS})] == ["B7-R"]
    weak = copy.deepcopy(CLAIMS)
    weak[1]["details"]["primary_sharpness"]["ci95_raw"] = [-0.7, 0.01]  # CI reaches 0
    assert conclusion.sharper_than_weakness({c["claim_id"]: c for c in weak}) == []


def test_every_number_of_the_answer_is_a_claims_number():
    text = _text(conclusion.short_html(CLAIMS))
    assert "1.50 × 10⁷" in text and "+0.20" in text and "+0.30" in text


def test_the_figure_is_legible_on_a_phone():
    import matplotlib

    matplotlib.use("Agg")
    from weakness_lib.views import style

    style.apply()
    fig = populations.plot(populations.frame(CLAIMS))
    assert fig.get_size_inches()[0] <= 5.0 and style.check(fig) >= 10


def _iv(mnist_rho: float, mnist_holm: float) -> dict:
    per = lambda rho, holm: {"given_oracle": {"rho": rho, "p_holm": holm},  # noqa: E731
                             "oracle_noise": {"reference_median": 0.56}}
    return {"claim_id": "IV", "verdict": "partially_reproduced", "our_value": -0.001,
            "details": {"mnist": per(mnist_rho, mnist_holm), "fashion_mnist": per(-0.001, 0.99)}}


def test_iv_says_per_dataset_where_w2_adds_information_and_the_oracle_noise_beside_it():
    text = _text(conclusion.iv_sentence(_iv(0.309, 0.0038)))
    assert "on MNIST (+0.31, Holm p = 0.0038) but not on Fashion-MNIST (−0.001)" in text  # not "−0.00"
    assert "+0.56 on MNIST through that noise alone" in text
    none = _text(conclusion.iv_sentence(_iv(0.309, 0.2)))  # not significant after Holm
    assert "on no dataset" in none and "noise alone" not in none
    assert conclusion.iv_sentence(None) == ""


def test_iv_reads_its_significance_threshold_from_the_registration(monkeypatch):
    from weakness_lib.views import validation

    text = _text(conclusion.iv_sentence(_iv(0.309, 0.0038)))
    assert "on MNIST (+0.31" in text
    monkeypatch.setattr(validation, "rule", lambda *_a, **_k: {"thresholds": {"p": 0.001}})
    assert "on no dataset" in _text(conclusion.iv_sentence(_iv(0.309, 0.0038)))


def test_the_verdict_paragraph_carries_iv_when_it_exists():
    claims = [*CLAIMS, _iv(0.309, 0.0038)]
    text = _text(conclusion.html_text(claims))
    assert "predicts no better than accuracy on a held-out labelled set" in text
    assert "still adds information" in text and "tells a practitioner nothing" not in text
    assert "tells a practitioner nothing" in _text(conclusion.html_text(CLAIMS))


@pytest.mark.parametrize("as_good", [True, False])
def test_x5_says_a_validation_set_scores_as_well_only_where_its_claim_file_says_so(as_good):
    ref = {"psi": 0.471, "psi_ci": [0.335, 0.528], "sign_error_max": 0.0, "measure": "w2",
           "measure_psi": 0.439, "measure_sign_error_max": 0.0, "as_good": as_good}
    x5 = {"claim_id": "X5", "verdict": "partially_reproduced", "our_value": 0.439, "ci95": [0.305, 0.511],
          "details": {"per_dataset": {"mnist": {"holds": True}, "fashion_mnist": {"holds": False}},
                      "validation_reference": {"per_dataset": {"mnist": ref}}}}
    text = _text(conclusion.html_text([x5]))
    assert "robust-predictivity score of W2 on MNIST is Ψ = 0.44" in text
    assert ("but a plain validation set scores as well there (Ψ = 0.47)" in text) is as_good
