"""Datasets: a registry of sources and a canonical, checksum-verified cache.

>>> from albench.data import prepare_dataset
>>> ds = prepare_dataset("digits")
>>> ds.train_images.shape, ds.num_classes
((1257, 8, 8, 1), 10)
"""

from albench.data.base import CacheError, DatasetSpec, DataSourceError, SourceOptions
from albench.data.cache import PreparedDataset, cache_root, load_dataset, prepare_dataset
from albench.data.registry import dataset_names, get_dataset_spec, list_datasets, register_dataset

__all__ = [
    "CacheError",
    "DataSourceError",
    "DatasetSpec",
    "PreparedDataset",
    "SourceOptions",
    "cache_root",
    "dataset_names",
    "get_dataset_spec",
    "list_datasets",
    "load_dataset",
    "prepare_dataset",
    "register_dataset",
]
