"""CIFAR-10, CIFAR-100 and SVHN sources, read through torchvision from tiny on-disk fixtures."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from albench.data import DataSourceError, SourceOptions, get_dataset_spec, prepare_dataset


def _load_fixtures():
    name = "albench_data_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fixtures.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fx = _load_fixtures()


def _opts(raw: Path, **kwargs) -> SourceOptions:
    return SourceOptions(data_dir=raw, verify_md5=kwargs.pop("verify_md5", False), **kwargs)


def _meta(cache: Path, name: str) -> dict:
    return json.loads((cache / name / "meta.json").read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cifar10_layout_labels_names_and_hashes(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    expected = fx.write_cifar10(raw)
    ds = prepare_dataset("cifar10", root=cache, options=_opts(raw))
    assert ds.train_images.shape == (10, 32, 32, 3) and ds.train_images.dtype == np.uint8
    assert ds.test_images.shape == (4, 32, 32, 3)
    assert ds.train_labels.dtype == np.int64
    # (3i + 1) mod 10 over the five batches, in batch order; test: (9 - j) mod 10.
    assert ds.train_labels.tolist() == [1, 4, 7, 0, 3, 6, 9, 2, 5, 8]
    assert ds.test_labels.tolist() == [9, 8, 7, 6]
    assert ds.class_names == fx.CIFAR10_NAMES
    # NHWC: pixel (i, h, w, c) = i + 2h + 3w + 50c.
    assert ds.train_images[0, 1, 2, 1] == 0 + 2 + 6 + 50
    assert ds.train_images[3, 5, 7, 2] == 3 + 10 + 21 + 100  # second image of data_batch_2
    assert ds.test_images[1, 31, 0, 0] == 101 + 62
    np.testing.assert_array_equal(ds.train_images, expected.train_images)
    np.testing.assert_array_equal(ds.test_images, expected.test_images)
    meta = _meta(cache, "cifar10")
    recorded = {Path(f["path"]).name: f["sha256"] for f in meta["source"]["files"]}
    assert recorded == {p.name: _sha256(p) for p in expected.files}
    assert len(recorded) == 7
    assert meta["augmentation"] == {"hflip": True, "crop_padding": 4}
    assert meta["extra"]["md5_verified"] is False
    assert "torchvision.datasets.CIFAR10" in meta["source"]["origin"]
    assert len(meta["data_hash"]) == 64


def test_cifar100_fine_labels_and_names(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    expected = fx.write_cifar100(raw)
    ds = prepare_dataset("cifar100", root=cache, options=_opts(raw))
    assert ds.train_images.shape == (6, 32, 32, 3) and ds.test_images.shape == (3, 32, 32, 3)
    assert ds.train_labels.tolist() == [99, 92, 85, 78, 71, 64]  # fine labels, not coarse
    assert ds.test_labels.tolist() == [0, 5, 10]
    assert ds.num_classes == 100
    assert ds.class_names[0] == "fine_00" and ds.class_names[99] == "fine_99"
    assert ds.test_images[2, 0, 31, 0] == (202 + 93) % 256  # = 39
    np.testing.assert_array_equal(ds.train_images, expected.train_images)
    assert len(_meta(cache, "cifar100")["source"]["files"]) == 3


def test_svhn_maps_ten_to_zero_and_transposes(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    expected = fx.write_svhn(raw)
    assert scipy.io.loadmat(raw / "train_32x32.mat")["y"][:, 0].tolist()[:3] == [10, 1, 2]
    ds = prepare_dataset("svhn", root=cache, options=_opts(raw))
    assert ds.train_images.shape == (12, 32, 32, 3) and ds.test_images.shape == (5, 32, 32, 3)
    assert ds.train_labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert ds.test_labels.tolist() == [5, 6, 7, 8, 9]
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.train_images[0, 4, 1, 2] == 3 + 8 + 3 + 100  # image 0 has start offset 3
    np.testing.assert_array_equal(ds.test_images, expected.test_images)
    assert ds.hflip is False and ds.crop_padding == 4
    names = sorted(Path(f["path"]).name for f in _meta(cache, "svhn")["source"]["files"])
    assert names == ["test_32x32.mat", "train_32x32.mat"]


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn"])
def test_missing_directory_names_dataset_path_and_download(tmp_path, name):
    raw = tmp_path / "nothing-here"
    with pytest.raises(DataSourceError) as info:
        prepare_dataset(name, root=tmp_path / "cache", options=_opts(raw))
    message = str(info.value)
    assert repr(name) in message and str(raw) in message and "--download" in message
    assert "$ALBENCH_DATA_DIR" in message
    assert not (tmp_path / "cache" / name).exists()
    assert not raw.exists()  # nothing was created while looking


def test_md5_check_rejects_synthetic_cifar(tmp_path):
    raw = tmp_path / "raw"
    fx.write_cifar10(raw)
    with pytest.raises(DataSourceError, match="MD5 mismatch") as info:
        prepare_dataset("cifar10", root=tmp_path / "cache", options=_opts(raw, verify_md5=True))
    assert "data_batch_1" in str(info.value) and "verify_md5=False" in str(info.value)


def test_md5_check_rejects_synthetic_svhn(tmp_path):
    raw = tmp_path / "raw"
    fx.write_svhn(raw)
    with pytest.raises(DataSourceError, match="MD5 mismatch") as info:
        prepare_dataset("svhn", root=tmp_path / "cache", options=_opts(raw, verify_md5=True))
    assert "train_32x32.mat" in str(info.value)


def test_truncated_cifar_batch_is_named(tmp_path):
    raw = tmp_path / "raw"
    fx.write_cifar10(raw)
    batch = raw / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-200])
    with pytest.raises(DataSourceError, match="cannot read") as info:
        prepare_dataset("cifar10", root=tmp_path / "cache", options=_opts(raw))
    message = str(info.value)
    assert "data_batch_3" in message and "data_batch_1" not in message and "--download" in message


def test_truncated_svhn_mat_is_named(tmp_path):
    raw = tmp_path / "raw"
    fx.write_svhn(raw)
    mat = raw / "test_32x32.mat"
    mat.write_bytes(mat.read_bytes()[:1000])
    with pytest.raises(DataSourceError, match="cannot read") as info:
        prepare_dataset("svhn", root=tmp_path / "cache", options=_opts(raw))
    assert "test_32x32.mat" in str(info.value) and "train_32x32.mat" not in str(info.value)


def test_md5_free_subclasses_leave_torchvision_untouched():
    from torchvision.datasets import CIFAR10, SVHN

    from albench.data.sources import cifar, svhn

    unchecked = cifar.torchvision_class("cifar10", False)
    assert issubclass(unchecked, CIFAR10) and unchecked is not CIFAR10
    assert [md5 for _, md5 in unchecked.train_list + unchecked.test_list] == [None] * 6
    assert unchecked.meta["md5"] is None
    assert CIFAR10.train_list[0][1] == "c99cafc152244af753f735de768cd75f"
    assert CIFAR10.meta["md5"] == "5ff9c542aee3614f3951f8cda6e48888"
    assert svhn.torchvision_class(False).split_list["train"][2] is None
    assert SVHN.split_list["train"][2] == "e26dedcc434d2e4c54c9b2d4a06d8373"
    assert cifar.torchvision_class("cifar100", True).__name__ == "CIFAR100"


def test_specs_augmentation_and_summaries():
    for name, hflip in (("cifar10", True), ("cifar100", True), ("svhn", False)):
        spec = get_dataset_spec(name)
        assert spec.hflip is hflip and spec.crop_padding == 4
        assert spec.summary and "\n" not in spec.summary
