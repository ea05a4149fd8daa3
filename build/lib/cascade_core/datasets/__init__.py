"""Question sets: the bundled dataset and JSONL/CSV loading into immutable `Dataset` records."""

from cascade_core.datasets.loader import BUNDLED_DATASET_PATH, Dataset, DatasetError, Item, load_bundled, load_dataset

__all__ = ["BUNDLED_DATASET_PATH", "Dataset", "DatasetError", "Item", "load_bundled", "load_dataset"]
