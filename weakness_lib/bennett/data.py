"""MNIST and Fashion-MNIST, offline-first, through ``torchvision.datasets``.

Data root resolution (first that applies):

1. ``root=`` argument or ``$WEAKNESS_DATA``;
2. ``<project>/../shared/data`` when it exists (the team's offline copy);
3. ``<cache>/data`` (``$WEAKNESS_CACHE`` or the user cache dir), where torchvision may download
   **only** when ``download=True`` or ``$WEAKNESS_DOWNLOAD=1`` is set.

A root that holds only ``<Name>/raw/*.gz`` (torchvision layout, read-only is fine) is decompressed
into ``<cache>/data/<Name>/raw`` and every uncompressed file is checked against ``MD5SUMS``
(the root's own file, else the canonical digests below). A missing, truncated or corrupt file
raises :class:`DataError` naming the file and the fix; nothing ever tries the network silently.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision import datasets

from weakness_lib.core import checks
from weakness_lib.core.paths import cache_dir, project_root

FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

DATASETS: dict[str, tuple[str, type[datasets.MNIST]]] = {
    "mnist": ("MNIST", datasets.MNIST),
    "fashion_mnist": ("FashionMNIST", datasets.FashionMNIST),
}

#: Canonical MD5 digests of the uncompressed IDX files (LeCun et al.; Zalando Research).
CANONICAL_MD5: dict[str, str] = {
    "MNIST/raw/train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "MNIST/raw/train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    "FashionMNIST/raw/train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "FashionMNIST/raw/train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "FashionMNIST/raw/t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

HOW_TO_FIX = (
    "Point WEAKNESS_DATA at a folder in torchvision layout (<root>/MNIST/raw/*-ubyte[.gz], "
    "<root>/FashionMNIST/raw/...) such as the team's ../shared/data, or set WEAKNESS_DOWNLOAD=1 "
    "on a machine with internet access."
)


class DataError(RuntimeError):
    """A dataset file is missing, truncated or corrupt."""


@dataclass(frozen=True)
class Dataset:
    """A whole dataset as dense tensors: images flattened to 784 values in [0, 1]."""

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    root: Path


@dataclass(frozen=True)
class Split:
    """Disjoint index sets into the training split: the training subset and the probe set."""

    train: np.ndarray
    probe: np.ndarray


def default_root() -> tuple[Path, bool]:
    """The data root and whether it is the download-allowed cache fallback."""
    env = os.environ.get("WEAKNESS_DATA")
    if env:
        return Path(env), False
    shared = project_root().parent / "shared" / "data"
    if shared.is_dir():
        return shared, False
    return cache_dir() / "data", True


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected_digests(root: Path) -> dict[str, str]:
    sums = root / "MD5SUMS"
    if not sums.exists():
        return dict(CANONICAL_MD5)
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest
    return out


def _decompress(src: Path, dst: Path) -> None:
    """Decompress ``src`` to ``dst`` through a temporary file private to this process, replaced
    atomically: two processes (e.g. two Dask workers on a cold cache) may race; both succeed."""
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.{time.time_ns()}.part")
    try:
        with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    except (OSError, EOFError, zlib.error) as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"cannot decompress {src}: {exc} (truncated or corrupt gzip). "
            f"Replace the file with a good copy. {HOW_TO_FIX}"
        ) from exc
    os.replace(tmp, dst)


def prepare_raw(folder: str, root: Path, cache: Path) -> Path:
    """Make verified uncompressed IDX files available; return the root torchvision should read.

    Uncompressed files already in ``root`` are used in place; ``.gz`` files are decompressed
    into ``cache``. Every file's MD5 is checked against ``MD5SUMS``.
    """
    digests = _expected_digests(root)
    use_root = root
    if not all((root / folder / "raw" / f).exists() for f in FILES):
        use_root = cache
    for fname in FILES:
        rel = f"{folder}/raw/{fname}"
        target = use_root / rel
        if use_root is cache:
            gz = root / (rel + ".gz")
            if not target.exists() or _md5(target) != digests.get(rel):
                if not gz.exists():
                    raise DataError(f"dataset file {gz} is missing. {HOW_TO_FIX}")
                target.parent.mkdir(parents=True, exist_ok=True)
                _decompress(gz, target)
        expected = digests.get(rel)
        if expected is None:
            raise DataError(f"no MD5 digest for {rel} in {root / 'MD5SUMS'}")
        actual = _md5(target)
        if actual != expected:
            source = root / (rel + ".gz") if use_root is cache else target
            raise DataError(
                f"{source} is corrupt: MD5 of the uncompressed data is {actual}, expected "
                f"{expected}. Replace the file with a good copy. {HOW_TO_FIX}"
            )
    return use_root


def load_dataset(
    name: str, root: str | Path | None = None, download: bool | None = None
) -> Dataset:
    """Load MNIST (``"mnist"``) or Fashion-MNIST (``"fashion_mnist"``) as float32 tensors.

    Images are scaled to [0, 1] (x / 255) and flattened to 784 values; labels are int64.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    folder, cls = DATASETS[name]
    if root is None:
        base, may_download = default_root()
    else:
        base, may_download = Path(root), False
    if download is None:
        download = may_download and os.environ.get("WEAKNESS_DOWNLOAD") == "1"
    if download:
        base.mkdir(parents=True, exist_ok=True)
        cls(str(base), train=True, download=True)
        cls(str(base), train=False, download=True)
    if not (base / folder / "raw").is_dir():
        raise DataError(f"no {folder}/raw folder under data root {base}. {HOW_TO_FIX}")
    tv_root = prepare_raw(folder, base, cache_dir() / "data")
    train = cls(str(tv_root), train=True, download=False)
    test = cls(str(tv_root), train=False, download=False)
    return Dataset(
        name=name,
        train_x=train.data.reshape(len(train.data), -1).float().div_(255.0),
        train_y=train.targets.long(),
        test_x=test.data.reshape(len(test.data), -1).float().div_(255.0),
        test_y=test.targets.long(),
        root=base,
    )


def stratified_order(labels: Tensor | np.ndarray, seed: int) -> np.ndarray:
    """A permutation of all indices whose every prefix is (nearly) class-stratified.

    Within each class c (count N_c) the indices are shuffled; the j-th of them gets the key
    (j + u)/N_c with u ~ U(0, 1), and all indices are sorted by key. A prefix of length n then
    holds n·N_c/N ± 1 indices of each class, and prefixes are nested by construction.
    """
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keys = np.empty(len(y))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        keys[idx] = (np.arange(len(idx)) + rng.uniform(size=len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def make_split(labels: Tensor | np.ndarray, n_train: int, n_probe: int, seed: int) -> Split:
    """Stratified training subset of size ``n_train`` and a disjoint probe set of ``n_probe``.

    The probe set is the *last* ``n_probe`` indices of :func:`stratified_order`, so it is the
    same for every ``n_train`` (given the seed) and never overlaps a training prefix.
    """
    n_train, n_probe, seed = (checks.whole(name, value, where="make_split") for name, value in
                              (("n_train", n_train), ("n_probe", n_probe), ("seed", seed)))
    if isinstance(labels, Tensor):
        dtype, ok = labels.dtype, not (labels.dtype.is_floating_point or labels.dtype.is_complex)
        ok = ok and labels.dtype != torch.bool and labels.ndim == 1
    elif isinstance(labels, np.ndarray | list | tuple):
        dtype = np.asarray(labels).dtype
        ok = dtype.kind in ("i", "u") and np.ndim(labels) == 1
    else:
        dtype, ok = None, False
    if not ok:
        raise checks.ArgumentError(f"make_split: labels must be a 1-D tensor or array of integer "
                                   f"class labels, got {type(labels).__name__}"
                                   + (f" of dtype {dtype}" if dtype is not None else ""))
    total = len(labels)
    if n_train < 1 or n_probe < 0 or n_train + n_probe > total:
        raise ValueError(
            f"n_train={n_train} + n_probe={n_probe} must fit in the {total} training images"
        )
    order = stratified_order(labels, seed)
    probe = order[total - n_probe :] if n_probe else order[:0]
    return Split(train=np.sort(order[:n_train]), probe=np.sort(probe))
