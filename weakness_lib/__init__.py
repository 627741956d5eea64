"""weakness_lib: flatness, weakness and generalisation — the library behind the executable book.

Modules, one concept each: ``data`` (offline MNIST/Fashion-MNIST), ``models`` (ReLU MLPs),
``train`` (deterministic loops), ``hessian`` (HVPs, λ_max, trace), ``reparam`` (Dinh rescaling),
``store`` (resumable results), ``claims`` (scorecard records), ``config`` (pre-registrations),
``book`` (papermill + Jupyter Book), and ``experiments`` (one runner per chapter).
"""

__version__ = "0.1.0"
