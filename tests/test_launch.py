"""Launch buttons that work (issue 18, point 6).

Every chapter starts with the bootstrap cell of :mod:`weakness_lib.publish.launch`, which does
nothing where the package is installed. Both launch paths are tested offline, each in a fresh venv:

* Binder: ``binder/requirements.txt`` (its CPU-only index dropped, see
  :func:`fixtures.launch_env.offline_requirements`) installed into a fresh venv from a local
  clone, then a chapter executed there, as Binder opens it;
* Colab: a chapter copied alone into an empty folder, run in a fresh venv that has the scientific
  stack but not the package, as Colab's runtime has (the Binder venv's packages, hard linked, so
  that one 5 GB torch is installed, not two); its bootstrap clones the repository
  (``$WEAKNESS_REPO`` = a local clone), installs the package and reads the committed results.
  That pip resolves the pinned torch in a bare environment is shown by the Binder venv (and by
  ``make venv``).

The clone and the Binder venv are built by :mod:`fixtures.launch_env` (standard library only):
here, in a temporary folder, or by ``.ci/run`` in the background while ``make venv`` runs, handed
over as ``$WEAKNESS_LAUNCH_ENV`` (checked complete and cloned at the current ``HEAD``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures import launch_env

from weakness_lib.core.paths import project_root
from weakness_lib.publish import launch

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))
#: a chapter that reads the committed store only (no data, no training)
CHAPTER = "04_head_to_head_mnist.ipynb"
#: a glue key the chapter produces from the committed store when it ran through
GLUED = "b6_n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_starts_with_the_bootstrap(path: Path) -> None:
    found = launch.bootstrap_of(json.loads(path.read_text()))
    assert found is not None, f"{path.name} has no launch bootstrap: python -m weakness_lib.publish.launch"
    index, cell = found
    assert index == 0, f"{path.name}: the bootstrap must be the first code cell"
    assert "".join(cell["source"]) == launch.bootstrap_source(), f"{path.name}: stale bootstrap"
    assert cell["metadata"]["tags"] == ["remove-cell"]


def test_the_bootstrap_does_nothing_where_the_package_imports(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WEAKNESS_ROOT", raising=False)
    exec(launch.bootstrap_source("file:///nowhere"), {})  # noqa: S102 - the cell readers run
    assert list(tmp_path.iterdir()) == [] and "WEAKNESS_ROOT" not in os.environ


def test_with_bootstrap_replaces_an_older_cell_and_keeps_the_rest() -> None:
    nb = {"cells": [{"cell_type": "markdown", "source": ["# t"]},
                    {"cell_type": "code", "source": [launch.MARK + " old"], "metadata": {}},
                    {"cell_type": "code", "source": ["x = 1"], "metadata": {}}]}
    new = launch.with_bootstrap(nb, "NEW")  # a source without the mark is inserted, not matched
    assert [c["source"] for c in new["cells"]] == [["# t"], ["NEW"], ["x = 1"]]
    again = launch.with_bootstrap(launch.with_bootstrap(nb, launch.bootstrap_source("u")),
                                  launch.bootstrap_source("u"))
    assert sum(launch.MARK in "".join(c["source"]) for c in again["cells"]) == 1


def test_offline_requirements_keep_every_pin_but_the_cpu_index() -> None:
    text = (project_root() / "binder" / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert "torch==2.14.1+cpu" in text and "-e ." in text
    offline = launch_env.offline_requirements(text)
    assert "extra-index-url" not in offline and "+cpu" not in offline
    assert "torch==2.14.1" in offline and "torchvision==0.29.1" in offline and "-e ." in offline


def test_a_prebuilt_launch_env_must_be_complete_and_cloned_at_head(tmp_path: Path) -> None:
    with pytest.raises(launch_env.LaunchEnvError, match="no built.json, the build did not finish"):
        launch_env.prebuilt(tmp_path)
    (tmp_path / "built.json").write_text(json.dumps({"commit": "0" * 40}))
    with pytest.raises(launch_env.LaunchEnvError, match="was cloned at 0000000000, not at HEAD"):
        launch_env.prebuilt(tmp_path)
    head = launch_env.head(project_root())
    (tmp_path / "built.json").write_text(json.dumps({"commit": head}))
    assert launch_env.prebuilt(tmp_path) == launch_env.LaunchEnv(tmp_path / "repo", tmp_path / "venv")


# ---- both launch paths, offline, each in a fresh venv -------------------------------------------

def _run(cmd: list, **kw) -> None:
    try:
        launch_env.run(cmd, **kw)
    except launch_env.LaunchEnvError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def scratch(tmp_path: Path):
    """The test's folder, removed when it ends whatever the outcome: each fresh venv holds a 5 GB
    torch, and two of them left behind per run fill a small CI disk."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def _glued(nb_path: Path) -> set[str]:
    nb = json.loads(nb_path.read_text())
    keys = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            glue = out.get("metadata", {}).get("scrapbook", {})
            if glue.get("name"):
                keys.add(glue["name"])
    return keys


def _streams(nb_path: Path) -> str:
    """The stdout/stderr a run left in its notebook (pip's reason, when the bootstrap failed)."""
    if not nb_path.exists():
        return ""
    cells = json.loads(nb_path.read_text()).get("cells", [])
    return "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")[-4000:]


#: the launch tests share one fresh 5 GB install (:func:`built`) and run one after the other
#: on one pytest-xdist worker (``--dist loadgroup``)
one_at_a_time = pytest.mark.xdist_group("launch_venvs")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A local clone of the committed repository (what a launch button opens) and a fresh venv with
    its ``binder/requirements.txt`` installed, as repo2docker builds it: the one ``.ci/run`` built
    beside ``make venv`` (``$WEAKNESS_LAUNCH_ENV``), else built here and removed at the end of the
    module (it holds a 5 GB torch)."""
    given = os.environ.get(launch_env.ENV_VAR)
    tmp = None if given else tmp_path_factory.mktemp("launch")
    try:
        env = launch_env.prebuilt(Path(given)) if given else launch_env.build(tmp)
    except launch_env.LaunchEnvError as exc:
        if tmp is not None:  # a half-built venv holds gigabytes too
            shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(str(exc))
    yield env
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def clone(built: launch_env.LaunchEnv) -> Path:
    return built.repo


@pytest.fixture(scope="module")
def binder_venv(built: launch_env.LaunchEnv) -> Path:
    return built.venv


def _site_packages(venv: Path) -> Path:
    (site,) = (venv / "lib").glob("python3*/site-packages")
    return site


def _colab_like(binder: Path, dest: Path) -> Path:
    """A fresh venv holding the scientific stack, as Colab's runtime does (torch, numpy, pandas,
    matplotlib, papermill, ipykernel…), but not weakness_lib: the Binder venv's packages, hard
    linked (no second 5 GB install), without the package itself."""
    venv = launch_env.make_venv(dest, binder / "bin" / "python")  # the Python of the packages it links
    site = _site_packages(venv)
    for entry in _site_packages(binder).iterdir():
        if "weakness_lib" in entry.name or (site / entry.name).exists():
            continue
        if entry.is_dir():
            shutil.copytree(entry, site / entry.name, copy_function=_link, symlinks=True)
        else:
            _link(entry, site / entry.name)
    return venv


def _link(src: str | Path, dst: str | Path) -> None:
    """A hard link, or a copy where ``src`` is on another file system (``$WEAKNESS_LAUNCH_ENV``
    outside the test's temporary folder)."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copy2(src, dst)


@one_at_a_time
def test_binder_environment_builds_and_runs_a_chapter(clone: Path, binder_venv: Path, scratch: Path) -> None:
    out = scratch / "out.ipynb"
    _run([binder_venv / "bin" / "papermill", clone / "notebooks" / CHAPTER, out, "-k", "python3",
          "--cwd", clone / "notebooks"], env=launch_env.reader_env())
    assert GLUED in _glued(out)


@one_at_a_time
def test_a_chapter_alone_bootstraps_itself_as_on_colab(clone: Path, binder_venv: Path, scratch: Path) -> None:
    venv = _colab_like(binder_venv, scratch / "colab")
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print(u.find_spec('torch') is not None, u.find_spec('weakness_lib') is None)"],
                           capture_output=True, text=True, env=launch_env.reader_env(), cwd=scratch)
    assert probe.stdout.split() == ["True", "True"], probe.stdout + probe.stderr  # the stack, not the package
    folder = scratch / "content"
    folder.mkdir()
    shutil.copy(clone / "notebooks" / CHAPTER, folder / CHAPTER)
    out = folder / "out.ipynb"
    env = {**launch_env.reader_env(), "WEAKNESS_REPO": f"file://{clone}"}
    done = subprocess.run([str(python), "-m", "papermill", str(folder / CHAPTER), str(out), "-k", "python3",
                           "--cwd", str(folder)], capture_output=True, text=True, timeout=1800, env=env)
    assert done.returncode == 0, f"the chapter failed on its own:\n{_streams(out)}\n{done.stderr[-3000:]}"
    assert (folder / "flat-minima-book" / "results" / "full").is_dir()
    assert GLUED in _glued(out)
