"""Memory: a knowledge graph (networkx or Neo4j) and a LanceDB vector store."""

from .graph import Fact, GraphStore, Neo4jGraph, NetworkxGraph, open_graph
from .memory import Memory
from .vectors import Embedder, HashEmbedder, LanceVectorStore, MemoryItem, SentenceTransformerEmbedder, VectorStore, open_vectors

__all__ = [
    "Embedder",
    "Fact",
    "GraphStore",
    "HashEmbedder",
    "LanceVectorStore",
    "Memory",
    "MemoryItem",
    "Neo4jGraph",
    "NetworkxGraph",
    "SentenceTransformerEmbedder",
    "VectorStore",
    "open_graph",
    "open_vectors",
]
