"""Knowledge base: help-centre articles, their chunks, BM25 and embedding vectors, hybrid search in Qdrant."""

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
