"""Wen, Li & Ma (2023)'s studies, scenarios I–III (claims WLM-I to WLM-III): :mod:`.common` is the scenario protocol
they share, :mod:`.training` a training unit, :mod:`.verdicts` the statistics of the rules and
:mod:`.frames` the tables of an ``analyse`` result."""
