"""Infrastructure shared by every study: where things live (``paths``), pre-registered settings
(``config``), the results store (``store``, one writer, atomic, locked), claim files (``claims``) and
provenance records (``provenance``)."""
