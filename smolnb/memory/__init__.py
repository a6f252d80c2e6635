"""Memory: a knowledge graph (networkx or Neo4j) and a LanceDB vector store."""

from .extractors import ModelNames
from .graph import Fact, GraphStore, Neo4jGraph, NetworkxGraph, open_graph, register_graph_scheme
from .lance import LanceVectorStore
from .memory import Memory
from .vectors import (
    Embedder,
    HashEmbedder,
    MemoryItem,
    SentenceTransformerEmbedder,
    VectorStore,
    open_vectors,
    register_vector_scheme,
)

__all__ = [
    "Embedder",
    "Fact",
    "GraphStore",
    "HashEmbedder",
    "LanceVectorStore",
    "Memory",
    "MemoryItem",
    "ModelNames",
    "Neo4jGraph",
    "NetworkxGraph",
    "SentenceTransformerEmbedder",
    "VectorStore",
    "open_graph",
    "open_vectors",
    "register_graph_scheme",
    "register_vector_scheme",
]
