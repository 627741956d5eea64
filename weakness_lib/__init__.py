"""weakness_lib: flatness, weakness and generalisation — the library behind the executable book.

Sub-packages, by concern:

* ``core``     — pinned numerics (set on import, before torch loads), paths, pre-registered configs, the results store, claim files, provenance;
* ``bennett``  — the science of Bennett (2026): data, models, training, curvature, rescalings,
  weakness, the measure family, statistics, finite-language theory;
* ``wen``      — the science of Wen, Li & Ma (2023): xor data, two-layer nets, SAM, constructions;
* ``studies``  — one module per experiment (``compute`` units, ``analyse`` stored tables,
  ``verdict`` by the registered rule) and the runner that executes them in dependency order;
* ``publish``  — notebook execution, the Jupyter Book build, figure/table style, benchmark report;
* ``cli``      — the ``weakness-repro`` command.
"""

# Pin CPU dispatch before any module of this package imports torch or numpy: the same bits on
# Intel and AMD (weakness_lib.core.numerics says which knobs and why).
from weakness_lib.core import numerics as _numerics

_numerics.pin()

__version__ = "0.2.0"
