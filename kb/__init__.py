"""Knowledge base: help-centre articles, their chunks, a BM25 sparse encoder and the Qdrant index."""

from kb.articles import Article, load_articles
from kb.chunking import Chunk, chunk_article
from kb.index import DEFAULT_COLLECTION, IngestReport, KnowledgeBase, open_qdrant
from kb.sparse import encode_document, encode_query, tokenize

__all__ = [
    "DEFAULT_COLLECTION",
    "Article",
    "Chunk",
    "IngestReport",
    "KnowledgeBase",
    "chunk_article",
    "encode_document",
    "encode_query",
    "load_articles",
    "open_qdrant",
    "tokenize",
]
