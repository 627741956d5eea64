"""The experiments of the book, one module per study, grouped by paper.

:mod:`.bennett` holds Bennett (2026)'s studies (B1–B7, their replications, X5, IV),
:mod:`.wen` those of Wen, Li & Ma (2023) (claims WLM-I to WLM-III). Each study module implements
the protocol of :mod:`weakness_lib.engine.base` (``units``, ``compute_unit``, ``analyse``, ``claims``, optionally
``summarise``); its verdict functions (the registered rule) sit beside it. Studies import the
science (``core``, ``curvature``, ``bennett``, ``wen``) and the engine, never the chapter views
(:mod:`weakness_lib.views`) or the book machinery (:mod:`weakness_lib.publish`).
"""
