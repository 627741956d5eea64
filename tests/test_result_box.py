"""Result boxes (issue 18, points 1-2): each caveat appears exactly when its condition holds."""

from __future__ import annotations

import copy

import pytest

from weakness_lib.views import result_box

CLAIM = {
    "claim_id": "B6-60k", "paper": "bennett2026", "verdict": "reproduced",
    "paper_value": "weakness ρ = +0.374", "metric": "Spearman ρ between W2 and test accuracy",
    "our_value": 0.686, "ci95": [0.569, 0.776],
    "details": {
        "ci_contains_paper": False, "confirmatory_weakness": "w2",
        "w1": {"measure": "w1_tau0.01", "rho": -0.739, "p": 1.6e-18},
        "secondary_weakness": {"measure": "w2", "rule_outcome": "partially_reproduced"},
        "oracle": {"measure": "w2", "oracle_rho": 0.681, "difference": 0.006,
                   "difference_ci95": [-0.126, 0.138], "weakness_better_than_oracle": False},
    },
}


def _with(**changes) -> dict:
    c = copy.deepcopy(CLAIM)
    for key, value in changes.items():
        c["details"][key] = value
    return c


def test_every_caveat_of_b6_60k_is_said() -> None:
    text = " ".join(result_box.caveats(CLAIM))
    assert "CI [+0.569, +0.776] excludes the paper's value" in text
    assert "W1 (τ = 0.01), points the other way: ρ = −0.739" in text
    assert "would be partially reproduced" in text
    assert "validation oracle's ρ = +0.681" in text and "[−0.126, +0.138]" in text


@pytest.mark.parametrize(("change", "gone"), [
    ({"ci_contains_paper": True}, "excludes the paper's value"),
    ({"w1": {"measure": "w1_tau0.01", "rho": 0.2, "p": 0.04}}, "points the other way"),
    ({"secondary_weakness": {"measure": "w2", "rule_outcome": "reproduced"}}, "original head-to-head rule"),
    ({"oracle": {**CLAIM["details"]["oracle"], "weakness_better_than_oracle": True}}, "validation set"),
])
def test_each_caveat_disappears_when_its_condition_fails(change, gone) -> None:
    text = " ".join(result_box.caveats(_with(**change)))
    assert gone not in text
    assert len(result_box.caveats(_with(**change))) == 3


def test_a_claim_without_details_has_no_caveat_and_a_plain_box() -> None:
    plain = {k: v for k, v in CLAIM.items() if k != "details"}
    assert result_box.caveats(plain) == []
    box = result_box.html_box([plain])
    assert "admonition tip" in box and "But:" not in box and "ρ = +0.686" in box


def test_a_caveat_turns_the_box_into_a_warning_beside_the_verdict() -> None:
    box = result_box.html_box([CLAIM])
    assert "admonition warning" in box and "✅ reproduced" in box and "But:" in box


def test_every_chapter_with_claims_opens_with_its_result_box() -> None:
    import json

    from weakness_lib.publish.book import chapter_notebooks

    for path in chapter_notebooks():
        if not result_box.chapter_claims(path.stem):
            continue
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        at = next(i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", []))
        box = "".join(code[at + 1]["source"])
        assert box.startswith("# the answer first") and "result_box.show(" in box, path.name
        assert "remove-input" in code[at + 1]["metadata"]["tags"], path.name


def test_the_result_box_is_the_first_thing_under_the_title() -> None:
    """On the first screen: the chapter's title alone in its first cell, then (after the hidden
    bootstrap and parameters cells) the result box; the introduction follows the box."""
    import json

    from weakness_lib.publish.book import chapter_notebooks

    for path in chapter_notebooks():
        if not result_box.chapter_claims(path.stem):
            continue
        cells = json.loads(path.read_text())["cells"]
        title = "".join(cells[0]["source"])
        assert cells[0]["cell_type"] == "markdown" and title.startswith("# ") and "\n" not in title.strip(), \
            f"{path.name}: the first cell should hold the title only"
        box = next(i for i, c in enumerate(cells) if "result_box.show(" in "".join(c["source"]))
        shown = [c for c in cells[1:box] if c["cell_type"] == "markdown"
                 or not {"remove-cell", "remove-input"} & set(c["metadata"].get("tags", []))]
        assert not shown, f"{path.name}: something is shown between the title and the result box"



# WLM-I's per-seed numbers as committed: condition (d) (Sim-BN 1-SAM) fails in seed 0 only
WLM_I = {
    "claim_id": "WLM-I", "paper": "wen2023", "verdict": "reproduced", "our_value": 1.0, "ci95": None,
    "paper_value": "Fig 2: W1 columns 1-2 have norm 42.5 vs <= 5.65 for the rest",
    "metric": "minimum final test accuracy",
    "details": {"per_seed": {
        "0": {"b": True, "c": True, "d": False, "bn_acc": 0.78525, "bn_feature_ratio": 2.0825},
        "1": {"b": True, "c": True, "d": True, "bn_acc": 0.98425, "bn_feature_ratio": 2.7102},
        "2": {"b": True, "c": True, "d": True, "bn_acc": 0.99725, "bn_feature_ratio": 2.7244}}},
}


def test_a_condition_failing_in_one_seed_is_said_beside_the_verdict() -> None:
    [text] = result_box.caveats(WLM_I)
    assert text.startswith("Condition (d) of the rule fails in seed 0 (1 of 3 seeds)")
    assert "Sim-BN 1-SAM reaches a test accuracy of 0.785 there (0.984, 0.997 in seeds 1, 2)" in text
    assert "on average 2.51× the largest other column (2.08× to 2.72× over the seeds)" in text
    box = result_box.html_box([WLM_I])
    assert "admonition warning" in box and "✅ reproduced" in box and "But:" in box


def test_the_paper_s_feature_ratio_from_the_registration_is_said_beside_ours() -> None:
    registered = copy.deepcopy(WLM_I)
    registered["provenance"] = {"tables": [{"table": "results/full/wen_scenario_1/f0bb879fdd424be7.json"}]}
    [text] = result_box.caveats(registered)
    # configs/wen_scenario_1.yaml: 42.5 / 5.65 (the paper's Fig 2b)
    assert "(2.08× to 2.72× over the seeds), against 7.52× in the paper (42.5 against 5.65)." in text
    assert "in the paper" not in result_box.caveats(WLM_I)[0]  # no table named: no registration


def test_a_chapter_s_own_caveat_follows_those_of_the_claim_file() -> None:
    box = result_box.html_box([WLM_I], extra={"WLM-I": "And <this>.", "other": "not shown"})
    assert box.index("Condition (d)") < box.index("And &lt;this&gt;.") and "not shown" not in box
    plain = copy.deepcopy(WLM_I)
    plain["details"]["per_seed"]["0"].update(d=True)
    assert "admonition warning" in result_box.html_box([plain], extra={"WLM-I": "A caveat."})
    assert "admonition tip" in result_box.html_box([plain])


@pytest.mark.parametrize(("verdict", "p", "said"), [
    ("partially_reproduced", 0.77, True), ("partially_reproduced", 0.05, True),
    ("partially_reproduced", 0.049, False), ("reproduced", 0.77, False)])
def test_a_partial_verdict_resting_on_the_sign_alone_is_said(verdict, p, said) -> None:
    claim = {"claim_id": "B7-60k", "verdict": verdict, "our_value": 0.03, "ci95": [-0.17, 0.23],
             "paper_value": "ρ = +0.384", "details": {"confirmatory_p": p},
             "provenance": {"tables": [{"table": "results/full/scale_60k_fmnist/x.json"}]}}
    text = " ".join(result_box.caveats(claim))  # configs/scale_60k_fmnist.yaml: p < 0.05
    assert ("says only that its sign is positive" in text) is said
    if said:
        assert f"p = {p:.2g}, threshold 0.05" in text


def test_no_condition_caveat_when_every_seed_passes() -> None:
    passing = copy.deepcopy(WLM_I)
    passing["details"]["per_seed"]["0"].update(d=True, bn_acc=0.95)
    assert result_box.caveats(passing) == []
    assert "admonition tip" in result_box.html_box([passing])


def test_a_failed_condition_without_sim_bn_numbers_names_only_the_seeds() -> None:
    other = copy.deepcopy(WLM_I)
    for row in other["details"]["per_seed"].values():
        row.update(d=True)
        del row["bn_acc"]
    other["details"]["per_seed"]["1"]["b"] = other["details"]["per_seed"]["2"]["b"] = False
    assert result_box.caveats(other) == ["Condition (b) of the rule fails in seeds 1, 2 (2 of 3 seeds)."]


@pytest.mark.parametrize("registered, shown", [
    ("weakness ρ = +0.384, p = 8.15e-5 (paper, Fashion-MNIST); our B7-R at n = 5,000: W2 ρ = −0.002",
     "weakness ρ = +0.384, p = 8.15e-5 (paper, Fashion-MNIST)"),
    ("weakness ρ = +0.384, p = 8.15e-5 (paper, Fashion-MNIST); our chapter 05 W2: ρ = +0.089 (n.s.)",
     "weakness ρ = +0.384, p = 8.15e-5 (paper, Fashion-MNIST)"),
    ("Replication at n = 60,000: W2 predicts test accuracy (paper: ρ = +0.374, p = 0.00012; our "
     "B6-60k: ρ = +0.686).", "Replication at n = 60,000: W2 predicts test accuracy (paper: ρ = +0.374, "
                             "p = 0.00012)."),
    ("W2 predicts test accuracy (paper: weakness ρ = +0.384; chapter 05's W2 gave ρ = +0.089, n.s.).",
     "W2 predicts test accuracy (paper: weakness ρ = +0.384)."),
    ("weakness ρ = +0.374, p = 0.00012; sharpness ρ = −0.226; simplicity p = 0.848",  # paper only
     "weakness ρ = +0.374, p = 0.00012; sharpness ρ = −0.226; simplicity p = 0.848"),
    ("not a number from the paper: our test of its thesis (no target)",
     "not a number from the paper: our test of its thesis (no target)"),
])
def test_the_paper_s_words_drop_values_of_ours_quoted_at_registration(registered, shown):
    """Registrations quoted our own earlier values, since moved by the re-derivation: a box shows
    the paper's part as 'Paper:', never a stale value of ours."""
    from weakness_lib.core.claims import paper_words

    assert paper_words(registered) == shown
    box = result_box.summary({**CLAIM, "paper_value": registered})
    assert box["paper"].startswith(shown.split(" (")[0].replace("8.15e-5", "8.15 × 10⁻⁵")[:20])
    assert "our B" not in box["paper"] and "our chapter" not in box["paper"]


def test_a_secondary_estimator_that_would_pass_the_same_rule_is_said_beside_a_failed_verdict():
    """B6/B7: 'not reproduced' on W1, while the registered secondary W2 passes the same rule."""
    from weakness_lib.views.caveats import caveats

    sec = {"measure": "w2", "rho_raw": 0.276, "p": 0.0054, "ci95_raw": [0.068, 0.465],
           "rule_outcome": "reproduced"}
    claim = {"claim_id": "B6", "verdict": "not_reproduced", "our_value": -0.308, "ci95": [-0.49, -0.10],
             "details": {"secondary_weakness": sec}}
    said = [c for c in caveats(claim) if "secondary weakness estimator" in c]
    assert said == ["The registered secondary weakness estimator, W2 (transformation compatibility), "
                    "would be reproduced under the same rule: ρ = +0.276, 95 % CI [+0.068, +0.465] "
                    "(p = 0.0054)."]
    same = {**claim, "details": {"secondary_weakness": {**sec, "rule_outcome": "not_reproduced"}}}
    assert not [c for c in caveats(same) if "secondary" in c]  # same verdict: nothing to add


@pytest.mark.parametrize("c, says", [({"mnist": False, "fashion_mnist": False}, True),
                                     ({"mnist": True, "fashion_mnist": False}, False)])
def test_b4_says_when_partially_rests_on_the_finite_identity_alone(c, says):
    from weakness_lib.views.caveats import caveats

    table = {ds: {"primary": "w1_tau0.01", "table": [{"weakness": "w1_tau0.01", "rho": r}]}
             for ds, r in (("mnist", 0.033), ("fashion_mnist", 0.16))}
    claim = {"claim_id": "B4", "verdict": "partially_reproduced", "our_value": 0.033, "ci95": None,
             "details": {"c_trained_networks": c, "trained_networks": {"datasets": table}}}
    found = [x for x in caveats(claim) if "finite identity alone" in x]
    assert bool(found) is says
    if says:
        assert "ρ = +0.033 on MNIST, +0.160 on Fashion-MNIST; predicted negative" in found[0]


def test_x5_says_which_hyper_parameters_its_environments_vary():
    from weakness_lib.views.caveats import caveats

    def claim(width_kept):
        hp = {"n_train": {"kept": 146, "total": 162}, "width": {"kept": width_kept, "total": 162},
              "depth": {"kept": 3, "total": 162}, "lr": {"kept": 2, "total": 162}}
        env = {"per_dataset": {"mnist": {"kept": 151 + width_kept, "total": 648, "per_hparam": hp}}}
        return {"claim_id": "X5", "verdict": "partially_reproduced", "our_value": 0.44, "ci95": None,
                "details": {"environments_with_weight": env}}

    text = " ".join(caveats(claim(0)))
    assert "On MNIST only 151 of 648 environments keep any weight (146 vary the training-set size, " \
           "3 vary the depth, 2 vary the learning rate), none varying the width" in text
    assert not [c for c in caveats(claim(5)) if "environments" in c]  # every hyper-parameter kept some


@pytest.mark.parametrize("oracle_psi, oracle_error, said", [(0.471, 0.0, True), (0.439, 0.0, True),
                                                          (0.40, 0.0, False), (0.471, 0.1, False)])
def test_x5_says_where_a_plain_validation_set_scores_as_well(oracle_psi, oracle_error, said):
    """X5's claim file carries the validation oracle beside W2 (second read: on MNIST its Ψ 0.471 ≥
    W2's 0.439, both with worst-case sign error 0), and the box and the scorecard say it."""
    import pandas as pd

    from weakness_lib.studies.bennett.robustness_rules import validation_reference
    from weakness_lib.views.caveats import caveats

    score = pd.DataFrame({"measure": ["w2", "val_acc"], "psi": [0.439, oracle_psi],
                          "psi_lo": [0.30, 0.33], "psi_hi": [0.51, 0.53], "sign_error_max": [0.0, oracle_error]})
    ref = validation_reference(score, "w2")
    assert ref["as_good"] is said and ref["psi_ci"] == [0.33, 0.53]
    assert validation_reference(score[score["measure"] == "w2"], "w2") is None  # no oracle scored
    claim = {"claim_id": "X5", "verdict": "partially_reproduced", "our_value": 0.439, "ci95": None,
             "details": {"validation_reference": {"per_dataset": {"mnist": ref}}}}
    found = [c for c in caveats(claim) if "validation set" in c]
    if said:
        assert found == [f"On MNIST a plain validation set scores as well (a comparison the registration "
                         f"did not make): the validation oracle's Ψ = +{oracle_psi:.3f}, 95 % CI [+0.330, "
                         f"+0.530], worst-case sign error 0; W2's Ψ = +0.439, worst-case sign error 0."]
    else:
        assert found == []
