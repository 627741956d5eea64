"""Readers' names of the diagnostic columns: the checks and bookkeeping that chapters 01, 02, 03,
06, 09 and 10 show next to their measures (Lanczos diagnostics, invariance factors, the exact checks
of the theory chapter, benchmark records). :mod:`weakness_lib.views.names` reads them into its one
mapping; they stay out of the methods page's glossary, which lists the book's measures.

Each entry is ``stored column → (label, symbol, unit, meaning)``; a yes/no check reads as a question.
"""

from __future__ import annotations

DIAGNOSTICS: dict[str, tuple[str, str, str, str]] = {
    # chapter 01: function-preserving rescalings (one row per mode × α)
    "lambda_max_ratio": ("λ_max ratio (reparameterised / original)", "λ_max(α)/λ_max(1)", "",
                         "largest Hessian eigenvalue of the rescaled network over that of the original"),
    "trace_ratio_rescaled": ("Hessian trace ratio (reparameterised / original)", "tr H(α)/tr H(1)", "",
                             "Hutchinson trace of the rescaled network's Hessian over the original's"),
    "trace_predicted": ("Hessian trace predicted from α = 1", "Σ_t s_t⁻² tr H_tt", "",
                        "the trace the rescaling must give: the original network's per-block "
                        "Hutchinson samples, block t scaled by s_t⁻² (± standard error)"),
    "max_abs_dlogit": ("max |Δ logit|", "max |Δz|", "",
                       "largest change of any logit against the original network (0 up to round-off "
                       "when the function is preserved)"),
    "lanczos_hvps": ("Lanczos Hessian-vector products", "", "",
                     "Hessian-vector products the Lanczos iteration needed to certify λ_max"),
    "lanczos_residual": ("Lanczos relative residual", "‖Hv − λv‖/|λ|", "",
                         "certified bound on the relative residual of the top Ritz pair"),
    # chapter 02: the invariance audit (one row per measure; factor r = v(α)/v(1))
    "max_change": ("largest change factor, all rescalings", "max(r, 1/r)", "",
                   "largest max(r, 1/r) over every α and both modes; 1 = unchanged"),
    "change_layer1": ("largest change factor, mode layer1", "max(r, 1/r)", "",
                      "largest max(r, 1/r) over every α when layer 1 is scaled by α"),
    "change_layer2": ("largest change factor, mode layer2", "max(r, 1/r)", "",
                      "largest max(r, 1/r) over every α when layer 2 is scaled by α"),
    "change_chain": ("largest change factor, mode chain", "max(r, 1/r)", "",
                     "largest max(r, 1/r) over every α when hidden layer ℓ is scaled by α^ℓ"),
    "max_rel_diff": ("largest relative difference |v(α)/v(1) − 1|", "max |r − 1|", "",
                     "largest relative deviation from the α = 1 value (round-off for invariant measures)"),
    # chapter 03 (and the Wen runs): training length
    "steps": ("optimisation steps", "", "", "parameter updates until training stopped"),
    # chapter 06, B3: exchangeable demand laws on |U| unseen outcomes
    "all_exchangeable": ("every law exchangeable?", "", "",
                         "is each law of the family invariant under permutations of U (enumerated)"),
    "all_monotone": ("every law: success depends on |C| alone, never falling?", "", "",
                     "P(D ⊆ C) is the same for coverings of one size and non-decreasing in |C|"),
    "max_spread": ("largest spread of P(D ⊆ C) within one |C|", "", "",
                   "largest difference of success between two coverings of the same size"),
    "min_step": ("smallest step of P(D ⊆ C) from |C| to |C| + 1", "", "",
                 "smallest increase of success per extra covered outcome (≥ 0: monotone)"),
    "max_closed_form_err": ("largest deviation from the closed form", "", "",
                            "largest |P(D ⊆ C) − Σ_k π_k C(|C|, k)/C(|U|, k)|"),
    "powerset_err": ("largest deviation from 2^|C|/2^|U| (uniform powerset law)", "", "",
                     "Bennett's (2023) formula checked against enumeration"),
    "maximiser_regret_max": ("largest worst-case regret of a weakness-maximiser", "", "",
                             "over random candidate families and the whole law family; 0 = optimal "
                             "for every law at once"),
    "nonmaximiser_regret_min": ("smallest worst-case regret of any other candidate", "", "",
                                "positive: every non-maximiser loses under some exchangeable law"),
    "n_families": ("random candidate families", "", "", ""),
    "biased_monotone": ("biased law: success depends on |C| alone, never falling?", "", "",
                        "the negative control: should be no"),
    "biased_spread": ("biased law: largest spread of P(D ⊆ C) within one |C|", "", "", ""),
    "biased_reversal": ("biased law: coverings in reversed order (bitmasks, larger first)", "", "",
                        "a larger covering that succeeds less often than a smaller one"),
    "q_u": ("qᵤ", "qᵤ", "", "probability that the biased law demands outcome u"),
    # chapter 06, B4: PAC-Bayes with uniform priors on finite languages
    "n_x": ("|X| or |C| (inputs or contexts)", "|X|", "", ""),
    "n_y": ("|Y| (outputs)", "|Y|", "", ""),
    "n_profiles": ("permission profiles checked", "", "", ""),
    "kl_max_err": ("largest error of KL(Q‖P) = ln(|L|/|A|)", "", "",
                   "largest |KL by enumeration − ln(|L|/|A|)| over the profiles"),
    "n_weakness_values": ("distinct weakness values", "", "", ""),
    "strictly_decreasing": ("bound strictly decreasing in weakness?", "", "", ""),
    "rho_bound_weakness": ("Spearman ρ(bound, weakness)", "ρ", "", "−1 when the bound is a decreasing function"),
    "closed_form_matches": ("weakness equals the closed form ∏(2^a − 1)?", "", "",
                            "enumerated |Z_π| against Bennett's freedom formula (exclusion language)"),
    # chapter 06: the paper's p-values, the re-creation of Bennett (2023)
    "p_t": ("p (t-approximation)", "p", "", "two-sided Spearman p with t = ρ√((n − 2)/(1 − ρ²))"),
    "p_fisher_z": ("p (Fisher z)", "p", "", "two-sided Spearman p by the Fisher-z approximation"),
    "n_examples": ("training examples", "n", "", "examples of the arithmetic task w-maxing and MDL learn from"),
    "n_trials": ("training sets", "", "", "training sets averaged over (every one at full scale)"),
    "rate_wmax": ("generalisation rate, w-maxing", "", "", "probability that w-maxing's choice is right on every output bit"),
    "rate_mdl": ("generalisation rate, MDL", "", "", "probability that MDL's choice is right on every output bit"),
    "extent_wmax": ("extent, w-maxing", "", "decisions", "expected (situation, bit) decisions the chosen rules license"),
    "extent_mdl": ("extent, MDL", "", "decisions", "expected (situation, bit) decisions the chosen rules license"),
    "frac_mdl_wmaximiser": ("fraction of training sets where MDL chose a weakness-maximiser", "", "", ""),
    # chapter 09
    "sam_trace_hutchinson": ("1-SAM Hessian trace (Hutchinson)", "", "", "the final trace estimated with random probes"),
    # chapter 10: benchmark records
    "final_train_acc": ("final training accuracy", "", "", ""),
    "final_train_loss": ("final training loss", "", "", ""),
    "train_epochs": ("training epochs", "", "", ""),
    "train_wall_s": ("training wall time (s)", "", "s", ""),
    "units_compared": ("units compared", "", "", "stored units present in both stores"),
    "units_differing": ("units that differ", "", "", "units with any stored number not bit-identical (timings excluded)"),
}
