"""The canonical cache, FashionMNIST (real Debian files and IDX fixtures) and digits."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest

from albench.data import (
    CacheError,
    DataSourceError,
    SourceOptions,
    dataset_names,
    get_dataset_spec,
    load_dataset,
    prepare_dataset,
)
from albench.data.sources import fashion_mnist as fmnist_source


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """IDX as (Fashion-)MNIST ships it: magic 0x0000 08 ndim, big-endian dims, then bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    """A tiny FashionMNIST in IDX format: 20 train, 10 test images with known pixels."""
    directory = tmp_path / "idx"
    directory.mkdir()
    train = np.arange(20 * 28 * 28, dtype=np.int64).reshape(20, 28, 28) % 251
    test = (np.arange(10 * 28 * 28).reshape(10, 28, 28) * 7) % 253
    write_idx(directory / "train-images-idx3-ubyte.gz", train)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    write_idx(directory / "t10k-images-idx3-ubyte", test, compress=False)  # plain files work too
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", (np.arange(10) * 3) % 10)
    return directory


@pytest.fixture
def no_debian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fmnist_source, "DEBIAN_DIR", tmp_path / "no-debian-package")


def test_fashion_mnist_from_an_idx_directory(idx_dir, tmp_path, no_debian):
    ds = prepare_dataset(
        "fashion_mnist", root=tmp_path / "cache", options=SourceOptions(data_dir=idx_dir)
    )
    assert ds.train_images.shape == (20, 28, 28, 1) and ds.train_images.dtype == np.uint8
    assert ds.test_labels.dtype == np.int64 and ds.test_labels.tolist() == [
        0,
        3,
        6,
        9,
        2,
        5,
        8,
        1,
        4,
        7,
    ]
    assert ds.train_images[1, 0, 2, 0] == (28 * 28 + 2) % 251
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    assert "local IDX directory" in ds.meta["source"]["origin"]
    files = {Path(f["path"]).name for f in ds.meta["source"]["files"]}
    assert "t10k-images-idx3-ubyte" in files and "train-images-idx3-ubyte.gz" in files
    meta = json.loads((ds.directory / "meta.json").read_text())
    assert meta["splits"]["train"]["class_counts"] == [2] * 10
    assert len(meta["data_hash"]) == 64


def test_env_var_is_looked_up_first(idx_dir, tmp_path, monkeypatch, no_debian):
    monkeypatch.setenv("ALBENCH_DATA_DIR", str(idx_dir))
    ds = prepare_dataset("fashion_mnist", root=tmp_path / "cache")
    assert str(idx_dir) in ds.meta["source"]["origin"]


def test_missing_fashion_mnist_says_where_it_looked_and_how_to_fix(tmp_path, no_debian):
    with pytest.raises(DataSourceError) as info:
        prepare_dataset(
            "fashion_mnist",
            root=tmp_path / "cache",
            options=SourceOptions(data_dir=tmp_path / "empty"),
        )
    message = str(info.value)
    for needle in (
        "fashion_mnist",
        str(tmp_path / "empty"),
        "no-debian-package",
        "dataset-fashion-mnist",
        "ALBENCH_DATA_DIR",
        "--download",
    ):
        assert needle in message
    assert not (tmp_path / "cache" / "fashion_mnist").exists()  # nothing half-written


def test_corrupt_idx_file_is_a_clear_error(idx_dir, tmp_path, no_debian):
    (idx_dir / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(DataSourceError, match=r"fashion_mnist.*corrupt source file.*gzip"):
        prepare_dataset(
            "fashion_mnist", root=tmp_path / "cache", options=SourceOptions(data_dir=idx_dir)
        )
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary directory is gone


def test_truncated_idx_file_is_a_clear_error(idx_dir, tmp_path, no_debian):
    raw = gzip.decompress((idx_dir / "train-images-idx3-ubyte.gz").read_bytes())
    (idx_dir / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataSourceError, match="header says shape"):
        prepare_dataset(
            "fashion_mnist", root=tmp_path / "cache", options=SourceOptions(data_dir=idx_dir)
        )


def test_corrupt_cache_is_detected_on_load(idx_dir, tmp_path, no_debian):
    root = tmp_path / "cache"
    ds = prepare_dataset("fashion_mnist", root=root, options=SourceOptions(data_dir=idx_dir))
    path = ds.directory / "train_images.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=r"checksum mismatch.*train_images\.npy.*--force"):
        load_dataset("fashion_mnist", root=root)
    again = prepare_dataset(
        "fashion_mnist", root=root, options=SourceOptions(data_dir=idx_dir), force=True
    )
    assert again.data_hash == ds.data_hash  # rebuilt from the sources: identical bytes
    assert load_dataset("fashion_mnist", root=root).data_hash == ds.data_hash


def test_unprepared_dataset_tells_how_to_prepare(tmp_path):
    with pytest.raises(CacheError, match="albench data prepare digits"):
        load_dataset("digits", root=tmp_path)


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        get_dataset_spec("cifar11")
    assert "unknown dataset 'cifar11'" in str(info.value)
    for name in ("cifar10", "cifar100", "digits", "fashion_mnist", "inat2018", "svhn"):
        assert name in str(info.value)
    assert {"digits", "fashion_mnist"} <= set(dataset_names())


def test_digits_offline(digits):
    assert digits.train_images.shape == (1257, 8, 8, 1)
    assert digits.test_images.shape == (540, 8, 8, 1)
    assert digits.train_images.max() == 255 and digits.train_images.min() == 0
    test_counts = np.bincount(digits.test_labels, minlength=10)
    totals = test_counts + np.bincount(digits.train_labels, minlength=10)
    assert np.all(np.abs(test_counts - 0.3 * totals) <= 1)  # stratified 30 %
    assert digits.hflip is False


def test_real_fashion_mnist_from_the_debian_package(fashion_mnist):
    ds = fashion_mnist
    assert ds.train_images.shape == (60_000, 28, 28, 1) and ds.test_images.shape == (
        10_000,
        28,
        28,
        1,
    )
    assert np.bincount(ds.train_labels).tolist() == [6_000] * 10
    assert np.bincount(ds.test_labels).tolist() == [1_000] * 10
    assert "Debian package dataset-fashion-mnist" in ds.meta["source"]["origin"]
    start = time.perf_counter()
    loaded = load_dataset("fashion_mnist", root=ds.directory.parent)
    images = np.asarray(loaded.train_images)
    elapsed = time.perf_counter() - start
    assert images.sum(dtype=np.int64) == np.asarray(ds.train_images).sum(dtype=np.int64)
    print(f"verified load of FashionMNIST: {elapsed:.3f} s")  # informational, not asserted


def test_prepare_is_idempotent_and_keeps_the_cache(digits):
    mtime = (digits.directory / "meta.json").stat().st_mtime_ns
    again = prepare_dataset("digits", root=digits.directory.parent)
    assert (again.directory / "meta.json").stat().st_mtime_ns == mtime
    assert again.data_hash == digits.data_hash
