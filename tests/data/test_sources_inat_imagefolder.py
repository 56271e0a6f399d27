"""iNaturalist 2018 and image-folder sources: layout, labels, resizing, splits and errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from albench.data import DataSourceError, SourceOptions, get_dataset_spec, prepare_dataset
from albench.data.sources import imagefolder, inat


def _load_fixtures():
    name = "albench_data_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fixtures.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fx = _load_fixtures()

# Fixture order is by (n, category id): n=0: ids 0, 2, 3; n=1: 0, 2, 3; n=2: 0, 3; n=3: 3.
# Ids {0, 2, 3} map to labels {0, 1, 2}.
INAT_TRAIN_LABELS = [0, 1, 2, 0, 1, 2, 0, 2, 2]
INAT_TEST_LABELS = [0, 1, 2, 2]


def _meta(cache: Path, name: str) -> dict:
    return json.loads((cache / name / "meta.json").read_text())


def _inat(raw: Path, cache: Path, **params):
    params.setdefault("num_workers", 0)
    options = SourceOptions(data_dir=raw, verify_md5=False, params=params)
    return prepare_dataset("inat2018", root=cache, options=options)


# iNaturalist 2018 -------------------------------------------------------------------------


def test_inat_splits_labels_remapping_and_resize(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    expected = fx.write_inat2018(raw)
    ds = _inat(raw, cache, image_size=8)
    assert ds.train_images.shape == (9, 8, 8, 3) and ds.train_images.dtype == np.uint8
    assert ds.test_images.shape == (4, 8, 8, 3)
    assert ds.train_labels.tolist() == INAT_TRAIN_LABELS
    assert ds.test_labels.tolist() == INAT_TEST_LABELS
    np.testing.assert_array_equal(ds.train_labels, expected.train_labels)
    assert ds.class_names == ["obfuscated_0", "obfuscated_2", "obfuscated_3"]
    # Solid-colour JPEGs: every pixel within a few grey levels of the category colour.
    for images, colours in (
        (ds.train_images, expected.train_images),
        (ds.test_images, expected.test_images),
    ):
        error = np.abs(images.astype(int) - colours[:, None, None, :].astype(int))
        assert error.max() <= 4
    assert ds.train_images[0, 3, 3].tolist() == pytest.approx([250, 10, 10], abs=4)  # id 0 red
    meta = _meta(cache, "inat2018")
    assert meta["extra"]["category_ids"] == [0, 2, 3]
    assert meta["extra"]["class_names_from"] == "train2018.json"
    assert meta["extra"]["resize"]["image_size"] == 8
    assert meta["source"]["image_size"] == 8
    recorded = {Path(f["path"]).name: f["sha256"] for f in meta["source"]["files"]}
    assert recorded == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in expected.files}
    assert meta["splits"]["train"]["class_counts"] == [3, 2, 4]
    assert meta["augmentation"] == {"hflip": True, "crop_padding": 8}


def test_inat_default_size_and_categories_file_names(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    fx.write_inat2018(raw, with_categories_file=True)
    ds = _inat(raw, cache)
    assert ds.train_images.shape == (9, 64, 64, 3)  # the spec's default image_size
    assert ds.class_names == ["Bellis perennis", "Pica pica", "Parus major"]
    meta = _meta(cache, "inat2018")
    assert meta["extra"]["class_names_from"] == "categories.json"
    assert sorted(Path(f["path"]).name for f in meta["source"]["files"]) == [
        "categories.json",
        "train2018.json",
        "val2018.json",
    ]


def test_inat_workers_give_identical_arrays(tmp_path):
    raw = tmp_path / "raw"
    fx.write_inat2018(raw)
    serial = _inat(raw, tmp_path / "a", image_size=5)
    parallel = _inat(raw, tmp_path / "b", image_size=5, num_workers=2)
    assert parallel.data_hash == serial.data_hash
    np.testing.assert_array_equal(parallel.train_images, serial.train_images)


def test_category_mapping_sorts_ids():
    ids, label_of = inat.category_mapping([{"id": 7}, {"id": 3}, {"id": 10}])
    assert ids == [3, 7, 10] and label_of == {3: 0, 7: 1, 10: 2}
    assert inat.class_names(ids, [{"id": 10, "name": "x"}, {"id": 3}]) == ["3", "7", "x"]


def test_inat_missing_data_error(tmp_path):
    raw = tmp_path / "empty"
    with pytest.raises(DataSourceError) as info:
        _inat(raw, tmp_path / "cache")
    message = str(info.value)
    assert "'inat2018'" in message and str(raw) in message and "--download" in message
    assert "val2018.json" in message


def test_inat_unrenamed_archive_folder_gets_a_hint(tmp_path):
    raw = tmp_path / "raw"
    fx.write_inat2018(raw)
    (raw / "2018").rename(raw / "train_val2018")
    with pytest.raises(DataSourceError, match="rename it to 2018"):
        _inat(raw, tmp_path / "cache")


def test_inat_listed_image_missing_on_disk(tmp_path):
    raw = tmp_path / "raw"
    fx.write_inat2018(raw)
    (raw / "2018" / "Aves" / "3" / "val_3_1.jpg").unlink()
    with pytest.raises(DataSourceError, match="1 image") as info:
        _inat(raw, tmp_path / "cache")
    assert "val_3_1.jpg" in str(info.value) and "val2018.json" in str(info.value)


def test_inat_category_must_match_folder(tmp_path):
    raw = tmp_path / "raw"
    fx.write_inat2018(raw)
    content = json.loads((raw / "train2018.json").read_text())
    content["annotations"][0]["category_id"] = 2  # its image lies in folder 0
    (raw / "train2018.json").write_text(json.dumps(content))
    with pytest.raises(DataSourceError, match="annotated as category 2"):
        _inat(raw, tmp_path / "cache")


# Resizing ---------------------------------------------------------------------------------


def test_square_resize_crops_centre_and_antialiases():
    # 16×16, top half white, bottom half black → 8×8: a 2× bilinear reduction.
    pixels = np.zeros((16, 16, 3), dtype=np.uint8)
    pixels[:8] = 255
    out = imagefolder.SquareResize(8)(Image.fromarray(pixels))
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert (out[:3] == 255).all() and (out[5:] == 0).all()
    # Rows 3 and 4 straddle the edge: antialiased, not copied, and symmetric.
    assert 0 < out[3, 0, 0] < 255 and abs(int(out[3, 0, 0]) + int(out[4, 0, 0]) - 255) <= 1
    # Portrait 10×30: only the middle 10×10 survives the centre crop.
    tall = np.zeros((30, 10, 3), dtype=np.uint8)
    tall[10:20] = (7, 77, 177)
    out = imagefolder.SquareResize(4)(Image.fromarray(tall))
    assert out.shape == (4, 4, 3) and (out == (7, 77, 177)).all()
    grey = imagefolder.SquareResize(4, channels=1)(Image.fromarray(tall))
    assert grey.shape == (4, 4, 1)
    assert (grey == round(0.299 * 7 + 0.587 * 77 + 0.114 * 177)).all()  # 67


# Image folders ----------------------------------------------------------------------------


def _folder(cache: Path, **params):
    params.setdefault("num_workers", 0)
    options = SourceOptions(params=params)
    return prepare_dataset("imagefolder", root=cache, options=options)


def test_imagefolder_stratified_fraction_split(tmp_path):
    centre = fx.write_image_folder(tmp_path / "imgs")
    ds = _folder(tmp_path / "cache", root=str(tmp_path / "imgs"), image_size=8)
    assert ds.class_names == ["cat", "dog", "emu"]
    assert ds.train_images.shape == (12, 8, 8, 3) and ds.test_images.shape == (3, 8, 8, 3)
    # round(0.2 * 5) = 1 test image per class; notes.txt is not an image.
    assert ds.train_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert ds.test_labels.tolist() == [0, 1, 2]
    for c, name in enumerate(ds.class_names):
        # The documented fixed split: the first index of default_rng([0, c]).permutation(5).
        k = int(np.random.default_rng([0, c]).permutation(5)[0])
        assert (ds.test_images[c] == centre[name][k]).all()  # crop drops black/white borders
        train = [tuple(img[0, 0]) for img in ds.train_images[ds.train_labels == c]]
        assert train == [centre[name][j] for j in range(5) if j != k]
        assert all((img == img[0, 0]).all() for img in ds.train_images[ds.train_labels == c])
    meta = _meta(tmp_path / "cache", "imagefolder")
    assert meta["extra"]["split"] == {"test_fraction": 0.2, "split_seed": 0}
    assert len(meta["source"]["files"]) == 15 and meta["extra"]["files_hashed_individually"]
    again = _folder(tmp_path / "cache2", root=str(tmp_path / "imgs"), image_size=8)
    np.testing.assert_array_equal(again.test_images, ds.test_images)


def test_imagefolder_test_root_and_grayscale(tmp_path):
    fx.write_image_folder(tmp_path / "train", per_class=2)
    fx.write_image_folder(tmp_path / "test", per_class=1, classes=("cat", "emu"))
    ds = _folder(
        tmp_path / "cache",
        root=str(tmp_path / "train"),
        test_root=str(tmp_path / "test"),
        image_size=4,
        channels=1,
    )
    assert ds.train_images.shape == (6, 4, 4, 1) and ds.test_images.shape == (2, 4, 4, 1)
    assert ds.test_labels.tolist() == [0, 2]  # labels follow the training root's classes
    # cat colour (200, 30, 30): L = 0.299·200 + 0.587·30 + 0.114·30 = 80.83 → 81.
    assert (ds.test_images[0] == 81).all()
    assert _meta(tmp_path / "cache", "imagefolder")["extra"]["split"] == {
        "test_root": str(tmp_path / "test")
    }


def test_imagefolder_via_custom_dataset_entry(tmp_path):
    fx.write_image_folder(tmp_path / "imgs")
    custom = {
        "my_flowers": {
            "source": "imagefolder",
            "root": str(tmp_path / "imgs"),
            "image_size": 6,
            "test_fraction": 0.4,
            "num_workers": 0,
            "hflip": False,
        }
    }
    assert "custom" in get_dataset_spec("my_flowers", custom).summary
    ds = prepare_dataset("my_flowers", root=tmp_path / "cache", custom=custom)
    # round(0.4 * 5) = 2 test images per class.
    assert ds.train_images.shape == (9, 6, 6, 3) and ds.test_images.shape == (6, 6, 6, 3)
    assert ds.hflip is False


def test_imagefolder_workers_give_identical_arrays(tmp_path):
    fx.write_image_folder(tmp_path / "imgs", per_class=3)
    serial = _folder(tmp_path / "a", root=str(tmp_path / "imgs"), image_size=5)
    parallel = _folder(tmp_path / "b", root=str(tmp_path / "imgs"), image_size=5, num_workers=2)
    assert parallel.data_hash == serial.data_hash


def test_imagefolder_large_folders_hash_the_file_list(tmp_path, monkeypatch):
    monkeypatch.setattr(imagefolder, "HASH_EACH_FILE_LIMIT", 3)
    fx.write_image_folder(tmp_path / "imgs", per_class=2)
    _folder(tmp_path / "cache", root=str(tmp_path / "imgs"), image_size=4, test_fraction=0.5)
    meta = _meta(tmp_path / "cache", "imagefolder")
    assert meta["source"]["files"] == [] and not meta["extra"]["files_hashed_individually"]
    lines = sorted(
        f"train/{c}/img_{k}.png\t{(tmp_path / 'imgs' / c / f'img_{k}.png').stat().st_size}\n"
        for c in ("cat", "dog", "emu")
        for k in range(2)
    )
    assert meta["extra"]["file_list_sha256"] == hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.mark.parametrize(
    ("setup", "params", "pattern"),
    [
        ("none", {}, "no 'root' given"),
        ("none", {"root": "MISSING"}, "is not a directory"),
        ("empty", {}, "no class folders"),
        ("no_images", {}, "Found no valid file for the classes a"),
        ("ok", {"test_root": "ROOT", "test_fraction": 0.3}, "either test_root or test_fraction"),
        ("ok", {"test_fraction": 1.5}, r"test_fraction must be in \(0, 1\)"),
        ("ok", {"channels": 2}, "channels=2 is not valid; valid: 3, 1"),
        ("ok", {"colour": "rgb"}, "unknown option.*'colour'.*valid options: root"),
    ],
)
def test_imagefolder_errors(tmp_path, setup, params, pattern):
    root = tmp_path / "imgs"
    if setup == "empty":
        root.mkdir()
    elif setup == "no_images":
        (root / "a").mkdir(parents=True)
        (root / "a" / "readme.txt").write_text("x")
    elif setup == "ok":
        fx.write_image_folder(root, per_class=2)
    params = {k: str(root) if v == "ROOT" else v for k, v in params.items()}
    if params.get("root") == "MISSING":
        params["root"] = str(tmp_path / "missing")
    elif setup != "none":
        params["root"] = str(root)
    with pytest.raises(DataSourceError, match=pattern):
        _folder(tmp_path / "cache", **params)
    assert not (tmp_path / "cache" / "imagefolder").exists()


def test_specs_have_one_line_summaries():
    for name in ("inat2018", "imagefolder"):
        spec = get_dataset_spec(name)
        assert spec.summary and "\n" not in spec.summary and spec.hflip is True
    assert get_dataset_spec("inat2018").options == {"image_size": 64}
    assert get_dataset_spec("imagefolder").options == {"image_size": 32}


def _config_with_folder(tmp_path: Path, root: Path):
    from albench.config import Config

    return Config.from_dict(
        {
            "experiment": "t",
            "cache_dir": str(tmp_path / "cache"),
            "custom_datasets": {"mine": {"source": "imagefolder", "root": str(root)}},
            "datasets": {"mine": {"imbalance_ratios": [1], "initial": {"size": 4}, "budget": 2}},
        }
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: None, "is not a directory"),
        (lambda root: fx.write_image_folder(root, classes=("cat",)), "1 class folder(s) (cat)"),
        (
            lambda root: (
                fx.write_image_folder(root),
                (root / "dog" / "aaa.png").write_bytes(b"not a png"),
            ),
            "aaa.png is not a readable image",
        ),
    ],
    ids=["missing", "one-class", "garbage-image"],
)
def test_custom_folders_are_checked_when_the_workflow_is_parsed(tmp_path, make, message):
    """check_config (run while Snakemake parses) rejects bad folders before any job."""
    from albench.config import ConfigError
    from albench.plan import check_config

    root = tmp_path / "imgs"
    make(root)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        check_config(_config_with_folder(tmp_path, root))
    assert "custom_datasets.mine" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_a_worker_error_names_the_file_on_its_first_line():
    text = (
        "Caught DataSourceError in DataLoader worker process 0.\nOriginal Traceback (most "
        'recent call last):\n  File "x.py", line 1\nalbench.data.base.DataSourceError: cannot '
        "read image /data/dog/a.png: truncated\n"
    )
    assert imagefolder._worker_message(text) == "cannot read image /data/dog/a.png: truncated"
    assert imagefolder._worker_message("plain message") == "plain message"


def test_a_truncated_image_decoded_by_a_worker_is_named_first(tmp_path):
    fx.write_image_folder(tmp_path / "imgs")
    bad = tmp_path / "imgs" / "emu" / "img_3.png"
    bad.write_bytes(bad.read_bytes()[:40])  # a valid header, truncated data
    with pytest.raises(DataSourceError) as info:
        _folder(tmp_path / "cache", root=str(tmp_path / "imgs"), image_size=4, num_workers=1)
    first_line = str(info.value).splitlines()[0]
    assert str(bad) in first_line and not first_line.startswith("Caught")


def test_the_parse_time_scan_knows_the_extensions_discovery_uses():
    from torchvision.datasets.folder import IMG_EXTENSIONS

    assert imagefolder._EXTENSIONS == IMG_EXTENSIONS
