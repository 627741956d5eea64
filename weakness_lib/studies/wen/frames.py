"""The frames of a Wen scenario's ``analyse`` result, from stored rows (no computation).

:func:`history_frame` and :func:`final_frame` turn stored units into long/wide frames;
:func:`constructions_frames` the constructions table (the figures are :mod:`weakness_lib.views.wen`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from weakness_lib.studies.wen.settings import Scenario


def history_frame(rows: Iterable[Mapping[str, Any]]):
    """Long DataFrame of the logged curves: one line per (run, seed, logged epoch)."""
    import pandas as pd

    frames = []
    for r in rows:
        if "history" not in r:
            continue
        h = pd.DataFrame(r["history"])
        h.insert(0, "seed", r["seed"])
        h.insert(0, "run", r["run"])
        frames.append(h)
    return pd.concat(frames, ignore_index=True)


def final_frame(rows: Iterable[Mapping[str, Any]]):
    """One line per unit with its final numbers and wall time (curves dropped)."""
    import pandas as pd

    cols = [
        "run",
        "arch",
        "algorithm",
        "seed",
        "epochs",
        "final_test_acc",
        "final_test_mse",
        "final_train_loss",
        "final_trace",
        "final_trace_hutchinson",
        "final_trace_hutchinson_se",
        "peak_test_acc",
        "peak_epoch",
        "final_active_frac",
        "_wall_s",
    ]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows if "run" in r])
    return df.dropna(axis=1, how="all").rename(columns={"_wall_s": "wall_s"})


def constructions_frames(config: Scenario, rows: list, cons: Mapping[str, Any]) -> dict:
    """Scenarios II and III: one line per construction (memoriser, generaliser) with its checks."""
    import pandas as pd

    table = pd.DataFrame({name: cons[name] for name in ("memoriser", "generaliser")}).T
    return {"constructions_table": table}


def no_frames(config: Scenario, rows: list, cons: Mapping[str, Any]) -> dict:
    return {}


# -- statistics and verdict helpers (pure) -------------------------------------------------------


