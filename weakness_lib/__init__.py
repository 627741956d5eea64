"""weakness_lib: flatness, weakness and generalisation — the library behind the executable book.

Sub-packages, by concern, in layers (each imports only those above it in this list;
``tests/test_architecture.py`` checks it):

* ``core``      — pinned numerics (set on import, before torch loads), paths, pre-registered
  configs, the results store, claim files, provenance;
* ``curvature`` — Hessian-vector products, spectra and traces, shared by both papers' science;
* ``bennett``   — the science of Bennett (2026): data, models, training, rescalings, weakness, the
  measure family, statistics, robustness scores, finite-language theory;
* ``wen``       — the science of Wen, Li & Ma (2023): xor data, two-layer nets, SAM, constructions;
* ``engine``    — the registry of studies, the study protocol, the runner that executes them in
  dependency order, bitwise verify and compare;
* ``studies``   — the experiments, grouped by paper (``compute`` units, ``analyse`` stored tables,
  ``verdict`` by the registered rule);
* ``views``     — every chapter's tables, figures and glue, from stored tables and claim files;
* ``publish``   — notebook execution and the Jupyter Book build;
* ``cli``       — the ``weakness-repro`` command;
* ``api``       — the small public API, reached from the package itself (``weakness_lib.measure``,
  ``weakness_lib.lambda_max``, ``weakness_lib.rescale``, …; see :mod:`weakness_lib.api`).

The public names are imported on first access (module ``__getattr__``), so ``import weakness_lib``
stays cheap and loads neither torch nor numpy before the numerics are pinned. ``__version__`` is
the installed distribution's version, whose one source is ``pyproject.toml``.
"""

# Pin CPU dispatch before any module of this package imports torch or numpy: the same bits on
# Intel and AMD (weakness_lib.core.numerics says which knobs and why).
from weakness_lib.core import numerics as _numerics

_numerics.pin()

#: the public API (weakness_lib.api), imported on first access; the one list of its names
#: (``api.__all__`` is this tuple), kept here so that naming them needs no torch
_API: tuple[str, ...] = (
    "measure", "MEASURE_INFO", "MeasureInfo", "GENERIC",
    "lambda_max", "hessian_trace", "sam_sharpness", "adaptive_sharpness", "pacbayes_flatness",
    "weakness_w1", "weakness_w2", "path_norm", "MeasureResult", "PacBayesResult", "W2Result",
    "Transform", "MLP", "build_mlp", "rescale", "rescale_layer", "rescale_chain",
    "TwoLayerSpec", "make_xor", "nobias_width4", "bias_memoriser", "bias_generaliser",
    "simln_memoriser", "simln_generaliser", "simbn_quadrant_model", "rescale_neurons",
    "closed_form_trace",
)
__all__ = ["__version__", *_API]


def _version() -> str:
    """The version in ``pyproject.toml``: from the installed metadata, else (a source tree that is
    not installed) read from ``pyproject.toml`` itself, else ``"0+unknown"``."""
    from importlib import metadata

    try:
        return metadata.version("weakness-lib")
    except metadata.PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        value = _version()
    elif name in _API:
        from weakness_lib import api

        value = getattr(api, name)
    else:
        raise AttributeError(f"module 'weakness_lib' has no attribute {name!r}")
    globals()[name] = value  # cached: later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
