"""Experiment runners, one module per book chapter.

Each module exposes ``EXPERIMENT`` (store name), ``NOTEBOOK`` (chapter file), ``CLAIMS`` (claim
ids it writes) and ``run(scale, *, progress=False) -> dict``: compute what is missing in the
results store, write the claim file(s), return what the notebook shows.
"""
