"""Turning stored results into the book: notebook execution and Jupyter Book build (``book``), offline
assets (``offline``) and the benchmark report (``bench_report``)."""
