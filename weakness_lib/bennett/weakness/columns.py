"""Names of the weakness columns in results tables, and the default thresholds.

A thresholded estimator is named ``{kind}_tau{τ}`` (probability form, A_τ) or ``{kind}_delta{δ}``
(logit-margin form, A_δ), the threshold written with Python's ``format(value, "g")``: at most six
significant digits, no trailing zeros or trailing point, exponent notation below 1e-4 or from
1e6 on. Examples: ``w1_tau0.01``, ``w1_delta1``, ``mean_A_tau0.05``, ``frac_single_tau0.1``,
``w1_tau1e-05``. These strings are keys of stored tables: :func:`column` is the only place that
builds them, and its format must not change.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DEFAULT_TAUS",
    "DEFAULT_DELTAS",
    "SWEEP_TAUS",
    "SWEEP_DELTAS",
    "THRESHOLDED_KINDS",
    "PLAIN_KINDS",
    "column",
    "weakness_columns",
]

DEFAULT_TAUS: tuple[float, ...] = (0.01, 0.05, 0.1)
DEFAULT_DELTAS: tuple[float, ...] = (1.0, 2.0, 4.0)
SWEEP_TAUS: tuple[float, ...] = (0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
SWEEP_DELTAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 6.0, 8.0)

#: W1 (bits), mean |A(x)|, and the fraction of probe inputs with |A(x)| = 1
THRESHOLDED_KINDS: tuple[str, ...] = ("w1", "mean_A", "frac_single")
#: estimators without a threshold: mean predictive entropy, W2 (count, fraction) and its control
PLAIN_KINDS: tuple[str, ...] = ("entropy_bits", "w2", "w2_frac", "w2_wrong_vflip")


def column(kind: str = "w1", *, tau: float | None = None, delta: float | None = None) -> str:
    """The column name ``f"{kind}_tau{tau:g}"`` or ``f"{kind}_delta{delta:g}"`` (exactly one of
    ``tau``/``delta``) for a kind of :data:`THRESHOLDED_KINDS`; the kind itself for one of
    :data:`PLAIN_KINDS` (no threshold).

    >>> column(tau=0.01), column("mean_A", delta=2.0), column("frac_single", tau=0.1), column("w2")
    ('w1_tau0.01', 'mean_A_delta2', 'frac_single_tau0.1', 'w2')
    """
    if kind in PLAIN_KINDS:
        if tau is not None or delta is not None:
            raise ValueError(f"{kind} has no threshold; give neither tau= nor delta=")
        return kind
    if kind not in THRESHOLDED_KINDS:
        raise ValueError(f"unknown estimator kind {kind!r}; expected one of "
                         f"{THRESHOLDED_KINDS + PLAIN_KINDS}")
    if (tau is None) == (delta is None):
        raise ValueError("give exactly one of tau= (probability threshold) or delta= (logit margin)")
    return f"{kind}_tau{tau:g}" if tau is not None else f"{kind}_delta{delta:g}"


def weakness_columns(
    taus: Sequence[float] = DEFAULT_TAUS, deltas: Sequence[float] = DEFAULT_DELTAS
) -> list[str]:
    """Column names produced by :func:`~weakness_lib.bennett.weakness.weakness_table`, in order:
    per τ (W1, mean |A|, fraction |A| = 1), per δ (W1, mean |A|), then entropy and W2."""
    cols = []
    for t in taus:
        cols += [column(kind, tau=t) for kind in THRESHOLDED_KINDS]
    for d in deltas:
        cols += [column("w1", delta=d), column("mean_A", delta=d)]
    return cols + [column(kind) for kind in PLAIN_KINDS]
