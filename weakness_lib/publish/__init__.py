"""The book machinery: notebook execution and the Jupyter Book build (``book``), the rerun box
(``rerun``), site CSS and launch buttons (``site``), offline assets (``offline``). The chapters'
tables and figures are :mod:`weakness_lib.views`."""
