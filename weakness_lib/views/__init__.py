"""What the chapters show: tables, figures and glue values, read from stored tables and claim files.

:mod:`.chapter` loads a study's ``analyse`` result (``compute=True`` runs missing units first through
the engine's runner); :mod:`.style` is the book's figure and table style; the other modules are the
views of one chapter or of the scorecard. Views compute no unit and write nothing.
"""
