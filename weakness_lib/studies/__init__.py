"""The studies of the book, one module per experiment, and the machinery that runs them.

Each study module implements the protocol of :mod:`weakness_lib.studies.base` (``units``,
``compute_unit``, ``analyse``, ``claims``, optionally ``summarise``); :mod:`.registry` names the
studies, their chapters, claims and the studies they need; :mod:`.runner` computes missing units in
dependency order on Dask and is the only writer of the results store and the claim files.
"""
