"""Weakness: how many completions a learned function leaves open, computed from outputs only.

Everything here is a function of the network's *outputs* on a fixed probe set U of unseen inputs
(or, for :class:`FiniteLanguage`, of an explicitly declared finite embodied language). Two
networks with bitwise-equal logits on U therefore get bitwise-equal weakness, and any
function-preserving reparameterisation (Dinh et al. 2017) leaves every estimator unchanged up
to the round-off of the logits themselves. None of these are parameter-space volumes (see
reference §4.4: those change under rescaling and are flatness measures under another name).

Estimators (reference bennett2026.md §4, design INFERRED — the paper's estimator is unknown):

* :mod:`.w1` — **W1, permission-profile log-freedom**: with the permitted label set
  A_τ(x) = {k : p_k(x) ≥ τ} ∪ {argmax p(x)} or A_δ(x) = {k : z_k(x) ≥ max_j z_j(x) − δ},
  W1 = (1/|U|) Σ_x log₂(2^{|A(x)|} − 1) bits; and its smooth relatives (mean |A(x)|, the
  fraction with |A(x)| = 1, mean predictive entropy).
* :mod:`.w2` — **W2, transformation compatibility**: the mean number of transformations of a
  fixed group G under which the arg-max prediction is unchanged (control: vertical flip).
* :mod:`.table` — all of them for one network (:func:`weakness_table`); :mod:`.columns` — the
  column names (:func:`column`, the only builder of ``w1_tau0.01``-style names) and thresholds.
* :mod:`.language` — exact weakness |Z_x| in a finite embodied language, and the freedom closed
  form ∏_c (2^{a_c} − 1).
* :mod:`.logits` — the network outputs on U (:func:`probe_logits`).

Sign convention: higher = weaker (more completions left open).
"""

# Each name is defined, and listed in __all__, once: in its submodule; the package re-exports
# every submodule's __all__.
from weakness_lib.bennett.weakness import columns, language, logits, table, w1, w2
from weakness_lib.bennett.weakness.columns import *  # noqa: F403
from weakness_lib.bennett.weakness.language import *  # noqa: F403
from weakness_lib.bennett.weakness.logits import *  # noqa: F403
from weakness_lib.bennett.weakness.table import *  # noqa: F403
from weakness_lib.bennett.weakness.w1 import *  # noqa: F403
from weakness_lib.bennett.weakness.w2 import *  # noqa: F403

__all__ = [
    *columns.__all__, *language.__all__, *logits.__all__, *table.__all__, *w1.__all__, *w2.__all__,
]
