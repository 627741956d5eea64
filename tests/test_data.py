"""Offline data loading: gz-only folders, MD5 verification, clear errors, stratified splits."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from weakness_lib.bennett import data as D

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _idx_images(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return struct.pack(">IIII", 2051, n, 28, 28) + rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes()


def _idx_labels(n: int) -> bytes:
    return struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    """A gz-only MNIST folder in torchvision layout with its own MD5SUMS (40 train, 20 test)."""
    monkeypatch.setenv("WEAKNESS_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    payloads = {
        "train-images-idx3-ubyte": _idx_images(40, 0),
        "train-labels-idx1-ubyte": _idx_labels(40),
        "t10k-images-idx3-ubyte": _idx_images(20, 1),
        "t10k-labels-idx1-ubyte": _idx_labels(20),
    }
    lines = []
    for name, payload in payloads.items():
        (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
        lines.append(f"{hashlib.md5(payload).hexdigest()}  MNIST/raw/{name}")
    (root / "MD5SUMS").write_text("\n".join(lines) + "\n")
    return root


def test_loads_gz_only_folder_into_cache(fake_root, tmp_path):
    ds = D.load_dataset("mnist", root=fake_root)
    assert ds.train_x.shape == (40, 784) and ds.test_x.shape == (20, 784)
    assert ds.train_x.dtype == torch.float32 and 0 <= float(ds.train_x.min()) and float(ds.train_x.max()) <= 1
    assert torch.equal(ds.train_y, torch.arange(40) % 10)
    assert (tmp_path / "cache" / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    assert not list(fake_root.rglob("*-ubyte")), "the source folder must not be modified"


def test_corrupted_byte_is_rejected_with_clear_error(fake_root):
    gz = fake_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    payload = bytearray(gzip.decompress(gz.read_bytes()))
    payload[100] ^= 0xFF
    gz.write_bytes(gzip.compress(bytes(payload)))
    with pytest.raises(D.DataError, match=r"t10k-images-idx3-ubyte.*corrupt.*MD5.*WEAKNESS_DATA"):
        D.load_dataset("mnist", root=fake_root)


def test_truncated_gz_is_rejected_with_clear_error(fake_root):
    gz = fake_root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[: len(gz.read_bytes()) // 2])
    with pytest.raises(D.DataError, match=r"train-images-idx3-ubyte.gz.*truncated or corrupt"):
        D.load_dataset("mnist", root=fake_root)


def test_missing_file_and_missing_folder(fake_root, tmp_path):
    (fake_root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(D.DataError, match=r"train-labels-idx1-ubyte.gz is missing"):
        D.load_dataset("mnist", root=fake_root)
    with pytest.raises(D.DataError, match=r"no FashionMNIST/raw folder"):
        D.load_dataset("fashion_mnist", root=fake_root)
    with pytest.raises(ValueError, match="unknown dataset"):
        D.load_dataset("cifar10", root=fake_root)


def test_corrupt_cached_copy_is_rebuilt(fake_root, tmp_path):
    D.load_dataset("mnist", root=fake_root)
    cached = tmp_path / "cache" / "data" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    cached.write_bytes(b"garbage")
    ds = D.load_dataset("mnist", root=fake_root)
    assert len(ds.test_y) == 20


def test_environment_variable_selects_root(fake_root, monkeypatch):
    monkeypatch.setenv("WEAKNESS_DATA", str(fake_root))
    assert D.default_root() == (fake_root, False)
    assert len(D.load_dataset("mnist").train_y) == 40


def test_stratified_order_prefixes_are_stratified_and_nested():
    labels = np.repeat(np.arange(10), [500, 600, 550, 450, 500, 520, 480, 510, 490, 400])
    order = D.stratified_order(labels, seed=0)
    assert sorted(order) == list(range(len(labels)))
    frac = np.bincount(labels) / len(labels)
    for n in (100, 1000, 3000):
        counts = np.bincount(labels[order[:n]], minlength=10)
        assert np.all(np.abs(counts - n * frac) <= 1.5)
    assert np.array_equal(order, D.stratified_order(labels, seed=0))
    assert not np.array_equal(order, D.stratified_order(labels, seed=1))


def test_split_probe_is_disjoint_and_independent_of_n_train():
    labels = np.arange(2000) % 10
    a = D.make_split(labels, 200, 300, seed=4)
    b = D.make_split(labels, 1500, 300, seed=4)
    assert np.array_equal(a.probe, b.probe)
    assert not set(a.train) & set(a.probe) and not set(b.train) & set(b.probe)
    assert set(a.train) <= set(b.train)
    with pytest.raises(ValueError, match="must fit"):
        D.make_split(labels, 1900, 300, seed=4)


@pytest.mark.skipif(not (SHARED / "MNIST").is_dir(), reason="team data folder not present")
def test_real_mnist_from_shared_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_CACHE", str(tmp_path))
    ds = D.load_dataset("mnist", root=SHARED)
    assert ds.train_x.shape == (60000, 784) and ds.test_x.shape == (10000, 784)
    assert np.bincount(ds.train_y.numpy()).tolist()[:2] == [5923, 6742]
