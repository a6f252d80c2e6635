"""Memory speed: recall latency at 10k and 100k memories, ingest throughput against raw
embedding, and graph neighbourhood queries on networkx and on Neo4j.

    python bench/memory_speed.py [--sizes 10000,100000] [--no-neo4j]

Real all-MiniLM-L6-v2 embeddings on the CPU; LanceDB and the networkx graph in a temp folder;
Neo4j is the embedded test server (`make neo4j-server`), started and stopped here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smolnb.memory import Memory, SentenceTransformerEmbedder, open_graph  # noqa: E402
from smolnb.memory.vectors import Embedder  # noqa: E402

CACHE = Path.home() / ".cache" / "smolnb-bench"


class CachedNotes(Embedder):
    """The real embedder, with the vectors of the bench's notes cached on disk: growing the
    store to 100k takes ~8 min of embedding on 2 cores, once. Queries (one text) are always
    embedded for real: their time is part of the recall latency."""

    def __init__(self, real: SentenceTransformerEmbedder) -> None:
        self.real, self.dim = real, real.dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        import hashlib

        import numpy as np

        if len(texts) == 1:
            return self.real.embed(texts)
        key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:24]
        path = CACHE / f"{key}.npy"
        if path.exists():
            return np.load(path).tolist()
        vectors = self.real.embed(texts)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(vectors, dtype=np.float32))
        return vectors


WORDS = [
    "graph",
    "retrieval",
    "causal",
    "speech",
    "protein",
    "agent",
    "tabular",
    "forecast",
    "synthesis",
    "distillation",
    "anomaly",
    "kernel",
    "notebook",
    "budget",
    "review",
    "deadline",
    "dataset",
    "benchmark",
    "reviewer",
    "figure",
    "draft",
    "baseline",
    "ablation",
    "seed",
]
CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Bergen", "Turin", "Pune", "Aarhus", "Accra", "Porto"]


def notes(n: int, start: int = 0, seed: int = 1) -> tuple[list[str], list[list[tuple[str, str, str]]]]:
    rng = random.Random(seed + start)
    texts, facts = [], []
    for i in range(start, start + n):
        person, project = f"Person{i % 5000}", f"Project{i % 2000}"
        topic = " ".join(rng.sample(WORDS, 3))
        texts.append(f"Note {i}: {person} reported on {project} about {topic}; next check-in in {rng.choice(CITIES)}.")
        facts.append([(project, "DISCUSSED_BY", person)])
    return texts, facts


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def recall_latency(memory: Memory, queries: list[str]) -> tuple[float, float]:
    memory.recall(queries[0], k=10)  # warm the caches once
    times = []
    for q in queries:
        started = time.perf_counter()
        memory.recall(q, k=10)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), pct(times, 0.95)


def neighbourhood_p50(uri: str, facts: int = 5000) -> float:
    graph = open_graph(uri)
    graph.forget()
    rng = random.Random(3)
    batch = [
        (f"E{rng.randrange(1000)}", rng.choice(["KNOWS", "USES", "CITES"]), f"E{rng.randrange(1000)}", {}) for _ in range(facts)
    ]
    graph.add_facts(batch)
    times = []
    for i in range(200):
        started = time.perf_counter()
        graph.neighbors(f"E{i * 5}", depth=2)
        times.append((time.perf_counter() - started) * 1000)
    graph.forget()
    graph.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-neo4j", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = SentenceTransformerEmbedder()
    queries = [f"what did Person{i * 37 % 5000} report about {w} for Project{i * 11 % 2000}?" for i, w in enumerate(WORDS * 3)][
        :60
    ]

    with tempfile.TemporaryDirectory() as tmp:
        # ingest throughput: the same 2,000 texts, raw embedding vs Memory.remember_many
        texts, facts = notes(2000, start=10_000_000)
        embedder.embed(texts[:64])
        started = time.perf_counter()
        embedder.embed(texts)
        raw = time.perf_counter() - started
        memory = Memory(graph=f"networkx://{tmp}/ingest/kg.json", vectors=f"lancedb://{tmp}/ingest/vec", embedder=embedder)
        started = time.perf_counter()
        for i in range(0, len(texts), 500):
            memory.remember_many(texts[i : i + 500], source="bench")
        texts_only = time.perf_counter() - started
        memory = Memory(graph=f"networkx://{tmp}/ingest2/kg.json", vectors=f"lancedb://{tmp}/ingest2/vec", embedder=embedder)
        started = time.perf_counter()
        for i in range(0, len(texts), 500):
            memory.remember_many(texts[i : i + 500], facts=facts[i : i + 500], source="bench")
        with_facts = time.perf_counter() - started
        print(f"raw embedding: {len(texts) / raw:.0f} texts/s")
        print(f"ingest (texts): {len(texts) / texts_only:.0f} texts/s = {raw / texts_only:.2f} of raw embedding (target >= 0.7)")
        print(f"ingest (texts + 1 fact each, networkx): {len(texts) / with_facts:.0f} texts/s = {raw / with_facts:.2f} of raw")

        memory = Memory(graph=f"networkx://{tmp}/big/kg.json", vectors=f"lancedb://{tmp}/big/vec", embedder=CachedNotes(embedder))
        have = 0
        for size in sizes:
            started = time.perf_counter()
            while have < size:
                n = min(5000, size - have)
                texts, facts = notes(n, start=have)
                memory.remember_many(texts, facts=facts, source="bench")
                have += n
            built = time.perf_counter() - started
            p50, p95 = recall_latency(memory, queries)
            print(
                f"recall at {size:,} memories: p50 {p50:.1f} ms, p95 {p95:.1f} ms (k=10, query embedding included; "
                f"target p50 < 50 ms) [grew in {built:.0f} s]"
            )
        started = time.perf_counter()
        embedder.embed([queries[0]])
        print(f"  of which embedding one query: {(time.perf_counter() - started) * 1000:.1f} ms")

        print(
            f"graph neighbourhood (depth 2, 5,000 facts) p50 on networkx: {neighbourhood_p50(f'networkx://{tmp}/nx/kg.json'):.2f} ms"
        )
        if not args.no_neo4j:
            from tests.neo4j_server.launcher import neo4j_server

            with neo4j_server(Path(tmp) / "neo4j") as uri:
                print(f"graph neighbourhood (depth 2, 5,000 facts) p50 on Neo4j 5.26: {neighbourhood_p50(uri):.2f} ms")


if __name__ == "__main__":
    main()
