"""FashionMNIST (Xiao et al., 2017): 60,000 + 10,000 grayscale 28×28 images, 10 classes.

Looked for, in order: ``--data-dir`` / ``$ALBENCH_DATA_DIR`` (the IDX files
directly in it, in ``fashion-mnist/``, or in torchvision's ``FashionMNIST/raw/``),
then Debian's ``dataset-fashion-mnist`` package under
``/usr/share/datasets/fashion-mnist``, and finally torchvision's download when
``--download`` is given. Debian's files are gzip-recompressed, so their MD5s
differ from torchvision's list: albench reads the IDX content itself and records
the sha256 of the files it read.
"""

from __future__ import annotations

from pathlib import Path

from albench.data.base import (
    DatasetSpec,
    DataSourceError,
    PrepareContext,
    SourceOptions,
    env_data_dir,
)
from albench.data.registry import register_dataset
from albench.data.sources.idx import IdxFormatError, read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _complete_dir(directory: Path) -> bool:
    return all(_find(directory, stem) for pair in FILES.values() for stem in pair)


def candidate_dirs(opts: SourceOptions) -> list[Path]:
    """Where the IDX files are looked for, in order."""
    dirs: list[Path] = []
    user = opts.data_dir or env_data_dir()
    if user is not None:
        user = Path(user).expanduser()
        dirs += [user, user / "fashion-mnist", user / "FashionMNIST" / "raw"]
    dirs.append(DEBIAN_DIR)
    dirs.append(opts.raw_root() / "FashionMNIST" / "raw")
    return dirs


def locate(opts: SourceOptions) -> tuple[Path, str]:
    """The directory holding the IDX files and a sentence saying where it came from."""
    for directory in candidate_dirs(opts):
        if _complete_dir(directory):
            origin = (
                "Debian package dataset-fashion-mnist"
                if directory == DEBIAN_DIR
                else "local IDX directory"
            )
            return directory, f"{origin} ({directory})"
    if opts.download:
        from torchvision.datasets import FashionMNIST

        root = opts.raw_root()
        try:
            FashionMNIST(str(root), train=True, download=True)
            FashionMNIST(str(root), train=False, download=True)
        except Exception as exc:  # network errors come in many types
            raise DataSourceError(
                f"dataset 'fashion_mnist': torchvision's download into {root} failed ({exc}). "
                "Install the Debian package (apt-get install dataset-fashion-mnist) or put the "
                "IDX files in $ALBENCH_DATA_DIR."
            ) from exc
        directory = root / "FashionMNIST" / "raw"
        return directory, f"torchvision download ({directory})"
    looked = "\n  ".join(str(d) for d in candidate_dirs(opts))
    raise DataSourceError(
        "dataset 'fashion_mnist': IDX files not found. Looked in:\n  "
        f"{looked}\n"
        "Provide them with one of: `apt-get install dataset-fashion-mnist` (Debian), "
        "ALBENCH_DATA_DIR=/dir/with/idx/files, or `albench data prepare fashion_mnist --download`."
    )


def prepare(context: PrepareContext, opts: SourceOptions) -> None:
    directory, origin = locate(opts)
    context.origin = origin
    context.class_names = list(CLASS_NAMES)
    for split, (image_stem, label_stem) in FILES.items():
        image_file, label_file = _find(directory, image_stem), _find(directory, label_stem)
        assert image_file is not None and label_file is not None
        try:
            images, labels = read_idx(image_file), read_idx(label_file)
        except IdxFormatError as exc:
            raise DataSourceError(
                f"dataset 'fashion_mnist': corrupt source file in {directory}: {exc}. "
                "Reinstall the data (apt-get install --reinstall dataset-fashion-mnist, or "
                "delete the file and use --download)."
            ) from exc
        if images.ndim != 3 or len(images) != len(labels):
            raise DataSourceError(
                f"dataset 'fashion_mnist': {image_file} has shape {images.shape} but "
                f"{label_file} has {len(labels)} labels"
            )
        context.write_split(split, images[..., None], labels)
        context.add_source_file(image_file)
        context.add_source_file(label_file)


register_dataset(
    DatasetSpec(
        name="fashion_mnist",
        image_shape=(28, 28, 1),
        train_class_counts=(6_000,) * 10,
        summary="FashionMNIST: 60k/10k grayscale 28x28 clothing images, 10 classes "
        "(Debian package, $ALBENCH_DATA_DIR or torchvision download)",
        prepare=prepare,
        hflip=True,
        crop_padding=4,
    )
)
