"""The machinery that turns registered studies into stored tables, and checks them.

:mod:`.registry` names the studies (module, chapter, claims, the studies they need); :mod:`.base`
is the protocol every study module implements (``units``, ``compute_unit``, ``analyse``,
``claims``, optionally ``summarise``) and the table access chapters use; :mod:`.runner` computes
missing units in dependency order on Dask (:mod:`.executor`) and is the only writer of the
results store and the claim files; :mod:`.verify` recomputes stored units bit for bit;
:mod:`.compare` compares two stores unit by unit. The engine imports no study: the registry names
study modules as strings and the runner imports them when it runs them.
"""
