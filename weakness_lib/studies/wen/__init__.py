"""Wen, Li & Ma (2023)'s studies, scenarios I–III (W1–W3): :mod:`.common` is the scenario protocol
they share, :mod:`.training` a training unit, :mod:`.verdicts` the statistics of the rules and
:mod:`.frames` the tables of an ``analyse`` result."""
