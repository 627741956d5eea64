"""Exhaustive checks of the weakness theory on finite domains (reference bennett2026.md §3, §7).

Only the *statements* of Bennett's 2026 theorems are known (C4: weakness is minimax-optimal
under exchangeable demands; C5: PAC-Bayes bounds work because they correlate with weakness).
This package checks the reconstruction of reference §7 by exact enumeration:

* :mod:`.demand` — **Demand laws** on the subsets D of a finite set U of unseen outcomes (|U| ≤ 16), stored as a
  probability vector indexed by bitmask. A candidate covering C ⊆ U succeeds when D ⊆ C;
  success(C) = Σ_{D ⊆ C} P(D), computed for every C at once by a subset-sum transform.
  Exchangeable laws (invariant under permutations of U) are determined by the size law
  π_k = P(|D| = k): P(D) = π_{|D|} / C(|U|, |D|), and then
  success(C) = Σ_k π_k C(|C|, k) / C(|U|, k)  — a non-decreasing function of |C| alone.
  The uniform-powerset law gives 2^{|C|} / 2^{|U|} (Bennett 2023).
* :mod:`.minimax` — **Minimax**: among candidates consistent with the data, the weakness-maximiser (largest |C|)
  is optimal under every exchangeable law simultaneously (zero worst-case regret over any
  family of exchangeable laws), and every non-maximiser is strictly worse under the
  exchangeable law |D| = 1 (success |C|/|U|). A biased (non-exchangeable) law can reverse the
  order — the negative control.
* :mod:`.pacbayes` — **PAC-Bayes**: prior P uniform on a finite set L of completions, posterior Q uniform on the
  compatible set A ⊆ L: KL(Q‖P) = ln(|L|/|A|), so the McAllester/Maurer bound
  err̂(Q) + √((KL + ln(2√m/δ))/(2m)) is strictly decreasing in the weakness |A|. Checked for
  H = Y^X (A = ∏_x A(x)) and for the exclusion language of the freedom closed form.
* :mod:`.volume` — **Parameter-space "volume"** (reference §4.4): the fraction of random weight perturbations
  that keep every prediction changes under a Dinh rescaling, while W1 does not.
* :mod:`.wmax_mdl` — **A re-creation (not a reproduction) of Bennett's 2023 w-maxing vs MDL experiment** on
  2-bit binary arithmetic; see :func:`wmax_vs_mdl`.
"""

# Each name is defined, and listed in __all__, once: in its submodule; the package re-exports
# every submodule's __all__.
from weakness_lib.bennett.theory import demand, minimax, pacbayes, volume, wmax_mdl
from weakness_lib.bennett.theory.demand import *  # noqa: F403
from weakness_lib.bennett.theory.minimax import *  # noqa: F403
from weakness_lib.bennett.theory.pacbayes import *  # noqa: F403
from weakness_lib.bennett.theory.volume import *  # noqa: F403
from weakness_lib.bennett.theory.wmax_mdl import *  # noqa: F403

__all__ = [
    *demand.__all__, *minimax.__all__, *pacbayes.__all__, *volume.__all__, *wmax_mdl.__all__,
]
