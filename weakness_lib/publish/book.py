"""Execute the chapter notebooks with papermill and build the Jupyter Book (1.x) from them.

``build(scale)``:

1. copies ``_config.yml``, ``_toc.yml`` and ``book/`` into a staging folder ``_build/src``;
2. executes every notebook of ``notebooks/`` with papermill and the profile
   ``notebooks/profiles/<scale>.yaml`` into ``_build/src/book/generated/`` (the scorecard last,
   because it reads the claim files the chapters write); unknown parameters are an error;
3. runs ``jupyter-book build -W -n --keep-going`` with execution off, so a failing notebook,
   a missing glue key or a broken reference fails the build.

At ``full`` scale the chapters read the committed results store and recompute only what is
missing; at ``smoke`` scale everything is recomputed in seconds into ``results/smoke``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import papermill
import yaml

from weakness_lib.core.paths import check_scale, project_root

SCORECARD = "scorecard.ipynb"


class BookError(RuntimeError):
    """A notebook failed or was given parameters it does not declare."""


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def chapter_notebooks() -> list[Path]:
    """Chapter notebooks in book order (the scorecard excluded)."""
    return sorted(p for p in notebooks_dir().glob("*.ipynb") if p.name != SCORECARD)


def profile(scale: str) -> dict[str, Any]:
    """The papermill parameters of a scale (``notebooks/profiles/<scale>.yaml``)."""
    path = notebooks_dir() / "profiles" / f"{check_scale(scale)}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Names, types and defaults of the notebook's ``parameters`` cell (papermill's inspection)."""
    return papermill.inspect_notebook(str(notebook))


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Raise :class:`BookError` for a parameter the notebook does not declare or a wrong type."""
    declared = declared_parameters(notebook)
    if not declared:
        raise BookError(f"{notebook.name} has no cell tagged 'parameters'")
    for name, value in parameters.items():
        if name not in declared:
            raise BookError(
                f"unknown parameter {name!r} for {notebook.name}; it declares {sorted(declared)}"
            )
        expected = (declared[name].get("inferred_type_name") or "").strip()
        types = {"str": str, "bool": bool, "int": int, "float": (int, float)}
        if expected in types and not isinstance(value, types[expected]) or (
            expected in ("int", "float") and isinstance(value, bool)
        ):
            raise BookError(
                f"parameter {name!r} of {notebook.name} must be {expected}, got {value!r}"
            )


def execute(notebook: Path, output: Path, parameters: dict[str, Any], timeout: int = 3600) -> float:
    """Run one notebook with papermill; on failure remove the output and raise :class:`BookError`."""
    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(project_root()),
            progress_bar=False,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as exc:
        failed = output.with_suffix(".failed.ipynb")
        output.replace(failed)
        raise BookError(
            f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue} "
            f"(executed copy kept at {failed}, never published)"
        ) from exc
    return time.perf_counter() - start


def execute_all(scale: str, dest: Path, jobs: int = 1, names: list[str] | None = None) -> dict[str, float]:
    """Execute the chapters (in parallel with ``jobs`` kernels), then the scorecard."""
    params = profile(scale)
    chapters = [p for p in chapter_notebooks() if names is None or p.stem in names]

    def one(nb: Path) -> tuple[str, float]:
        return nb.name, execute(nb, dest / nb.name, params)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        timings = dict(pool.map(one, chapters))
    scorecard = notebooks_dir() / SCORECARD
    timings[SCORECARD] = execute(scorecard, dest / SCORECARD, params)
    return timings


def stage(staging: Path) -> None:
    """Copy the book sources into a clean ``staging`` folder."""
    root = project_root()
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, staging / name)
    shutil.copytree(root / "book", staging / "book", ignore=shutil.ignore_patterns("generated"))


def jupyter_book(staging: Path, out: Path) -> None:
    """``jupyter-book build`` with warnings as errors; raise :class:`BookError` on failure."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(staging), "--path-output", str(out), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}")


def build(scale: str = "full", out: Path | None = None, jobs: int = 2) -> tuple[Path, dict[str, float]]:
    """Execute all notebooks at ``scale`` and build the HTML book; return index.html and timings."""
    out = Path(out) if out is not None else project_root()
    staging = out / "_build" / "src"
    stage(staging)
    timings = execute_all(scale, staging / "book" / "generated", jobs=jobs)
    start = time.perf_counter()
    jupyter_book(staging, out)
    timings["jupyter-book build"] = time.perf_counter() - start
    return out / "_build" / "html" / "index.html", timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "full"), default="full")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed in parallel")
    args = parser.parse_args(argv)
    index, timings = build(args.scale, jobs=args.jobs)
    for name, secs in timings.items():
        print(f"{secs:8.1f} s  {name}")
    print(f"book: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
