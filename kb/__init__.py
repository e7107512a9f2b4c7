"""Knowledge base: help-centre articles, their chunks, BM25 and embedding vectors, hybrid search in Qdrant.

Owns: reading articles (``kb.articles``, ``kb.html_articles``), chunking, the BM25 encoder
(``kb.sparse``), the embedding model (``kb.embeddings``), the Qdrant collection (``kb.store``), the
ingest ledger (``kb.ledger``), search (``kb.index`` with ``kb.expansion``, ``kb.fusion``,
``kb.mirror``, ``kb.hits``) and its offline tools (``kb.evaluation``, ``kb.benchmark``).

Imports: the standard library, numpy, scipy, PyYAML, qdrant-client (onnx, onnxruntime and
tokenizers only when the model loads) and, from the project, ``domain.models`` (``KbHit``) and the
top-level ``jsonl`` reader alone.
It must not import the rest of the project (api, agents, activities, workflows, triage,
supportctl, db, settings, worker): they import kb (triage uses ``kb.embeddings``), never the other
way round. Importing this package loads Qdrant's client; ``kb.errors`` alone does not.
"""

from kb.articles import Article, load_articles
from kb.chunking import Chunk, chunk_article
from kb.embeddings import Embedder, shared_embedder
from kb.index import DEFAULT_COLLECTION, IngestReport, KnowledgeBase, open_qdrant
from kb.sparse import encode_document, encode_query, tokenize

__all__ = [
    "DEFAULT_COLLECTION",
    "Article",
    "Chunk",
    "Embedder",
    "IngestReport",
    "KnowledgeBase",
    "chunk_article",
    "encode_document",
    "encode_query",
    "load_articles",
    "open_qdrant",
    "shared_embedder",
    "tokenize",
]
