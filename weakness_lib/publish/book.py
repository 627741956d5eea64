"""Execute the chapter notebooks with papermill and build the Jupyter Book (1.x) from them.

``build(scale)``:

1. runs every study whose chapter is in ``_toc.yml`` (:func:`published_studies`; a chapter joins
   the toc only when its full results are complete) with
   :func:`weakness_lib.engine.runner.run_studies`: computes only missing units,
   in dependency order, and writes claim files only when their content changes — with complete
   committed results it computes nothing and leaves the clone clean; a changed setting on a
   committed full-scale study stops the build with a message instead of silently retraining;
2. copies ``_config.yml``, ``_toc.yml`` and ``book/`` into a staging folder ``_build/src``;
3. executes every notebook of ``notebooks/`` that the toc publishes (chapters only *read* the store, so in any order and
   in parallel) with papermill and the profile ``notebooks/profiles/<scale>.yaml`` into
   ``_build/src/book/generated/``; unknown parameters are an error;
4. runs ``jupyter-book build -W -n --keep-going`` with execution off, so a failing notebook,
   a missing glue key or a broken reference fails the build.
"""

from __future__ import annotations

import ast
import os
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
#: overrides ``repository.url`` of ``_config.yml`` in the staged book (set by the publishing workflow)
REPOSITORY_ENV = "BOOK_REPOSITORY_URL"


class BookError(RuntimeError):
    """A notebook failed or was given parameters it does not declare."""


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def toc_chapters() -> set[str]:
    """Names of the notebooks the table of contents publishes (``book/generated/<name>`` entries).

    A chapter joins the toc only when its study's full results are complete; a notebook that is
    not in the toc is neither executed nor are its studies run by :func:`build`.
    """
    toc = yaml.safe_load((project_root() / "_toc.yml").read_text(encoding="utf-8"))
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    names.add(Path(value).name)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return names


def chapter_notebooks() -> list[Path]:
    """Published chapter notebooks in book order (the scorecard excluded)."""
    published = toc_chapters()
    return sorted(p for p in notebooks_dir().glob("*.ipynb")
                  if p.name != SCORECARD and p.stem in published)


def published_studies() -> list[str]:
    """The registered studies whose chapter is in the table of contents."""
    from weakness_lib.engine import registry

    published = toc_chapters()
    return [name for name, s in registry.STUDIES.items() if s.notebook in published]


def profile(scale: str) -> dict[str, Any]:
    """The papermill parameters of a scale (``notebooks/profiles/<scale>.yaml``)."""
    path = notebooks_dir() / "profiles" / f"{check_scale(scale)}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Names, types and defaults of the notebook's ``parameters`` cell (papermill's inspection)."""
    return papermill.inspect_notebook(str(notebook))


def _declared_type(info: dict[str, Any]) -> str:
    """The parameter's type: its annotation if any (papermill's inference), else its default's."""
    annotated = (info.get("inferred_type_name") or "").strip()
    if annotated and annotated != "None":
        return annotated
    try:
        return type(ast.literal_eval(str(info.get("default", "")))).__name__
    except (ValueError, SyntaxError):
        return ""


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
        expected = _declared_type(declared[name])
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
    hide_injected_parameters(output)
    return time.perf_counter() - start


def hide_injected_parameters(path: Path) -> None:
    """Hide the parameters cells of an executed notebook from the rendered page: the page shows
    the chapter's "Rerun this chapter" box instead (:mod:`weakness_lib.publish.rerun`)."""
    import json

    from weakness_lib.publish.rerun import hide_parameter_cells

    nb = json.loads(path.read_text(encoding="utf-8"))
    if hide_parameter_cells(nb["cells"]):
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute_all(scale: str, dest: Path, jobs: int = 1, names: list[str] | None = None) -> dict[str, float]:
    """Execute the notebooks (``names``: stems, default all) in parallel with ``jobs`` kernels."""
    params = profile(scale)
    every = chapter_notebooks() + [notebooks_dir() / SCORECARD]
    chosen = [p for p in every if names is None or p.stem in names]

    def one(nb: Path) -> tuple[str, float]:
        return nb.name, execute(nb, dest / nb.name, params)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(one, chosen))


def stage(staging: Path) -> None:
    """Copy the book sources into a clean ``staging`` folder (with ``$BOOK_REPOSITORY_URL``, if
    set, as the repository the launch buttons open)."""
    root = project_root()
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, staging / name)
    url = os.environ.get(REPOSITORY_ENV)
    if url:  # the publishing workflow launches notebooks from the repository it runs in
        config = yaml.safe_load((staging / "_config.yml").read_text(encoding="utf-8"))
        config.setdefault("repository", {})["url"] = url
        (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False,
                                                            allow_unicode=True), encoding="utf-8")
    shutil.copytree(root / "book", staging / "book", ignore=shutil.ignore_patterns("generated"))


def jupyter_book(staging: Path, out: Path) -> None:
    """``jupyter-book build`` with warnings as errors; raise :class:`BookError` on failure."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(staging), "--path-output", str(out), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}")


def build(scale: str = "full", out: Path | None = None, jobs: int = 2, *, workers: int | None = None,
          scheduler: str | None = None, device: str = "auto", progress: bool = True,
          ) -> tuple[Path, dict[str, float]]:
    """Run every published study (:func:`published_studies`), execute the published notebooks at
    ``scale`` and build the HTML book; return the index page and timings."""
    from weakness_lib.engine.runner import run_studies

    out = Path(out) if out is not None else project_root()
    start = time.perf_counter()
    run_studies(published_studies(), scale, workers=workers, scheduler=scheduler,
                device=device, explicit=False, progress=progress)
    run_s = time.perf_counter() - start
    staging = out / "_build" / "src"
    stage(staging)
    timings = {"weakness-repro run all": run_s}
    timings.update(execute_all(scale, staging / "book" / "generated", jobs=jobs))
    start = time.perf_counter()
    jupyter_book(staging, out)
    timings["jupyter-book build"] = time.perf_counter() - start
    return out / "_build" / "html" / "index.html", timings
