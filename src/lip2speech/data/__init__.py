"""Prepared data: the features folder (store.py, its only reader and writer; features.py prepares a corpus
into one), the windowing of utterances into samples (windows.py), the lip inputs of the systems (lip_inputs.py,
utterance.py for gu2s), the train/validation/test splits (splits.py) and the training datasets (datasets.py)."""

from . import windows
from .features import PrepareReport, prepare, synthetic_features
from .splits import split_keys
from .store import FeatureStore, feature_config, load_item

__all__ = ["FeatureStore", "PrepareReport", "feature_config", "load_item", "prepare", "split_keys",
           "synthetic_features", "windows"]
