"""Memory speed, each against the engine underneath in the same run: ingest against raw
embedding; ingest time per 5,000 notes as the store grows; recall p50 at 1k, 10k, 100k (and
1M with --million: synthetic note vectors past 100k) against LanceDB's own hybrid search on
the same table with the query embedding in both; the first recall in a new process; graph
neighbourhood queries and recall with the networkx graph and with Neo4j (started here, as
`smolnb services neo4j` starts it). Plots the curves to bench/memory_speed.png.

    python bench/memory_speed.py [--sizes 1000,10000,100000] [--million] [--no-neo4j]

Real all-MiniLM-L6-v2 embeddings on the CPU; LanceDB and the networkx graph in a temp folder;
Neo4j is the embedded server (`make neo4j-server`), started and stopped here.
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


class SyntheticNotes(Embedder):
    """Random unit vectors for the notes past 100k (a seeded hash of the text); queries are
    embedded for real, so their time stays in the latency."""

    def __init__(self, real: Embedder) -> None:
        self.real, self.dim = real, real.dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        if len(texts) == 1:
            return self.real.embed(texts)
        rng = np.random.default_rng(abs(hash(texts[0])) % 2**32)
        vectors = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.tolist()


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


def lancedb_hybrid_p50(memory: Memory, embedder: Embedder, queries: list[str]) -> float:
    """LanceDB's own hybrid search (vector + full text, its default reranker) on the same table."""
    table = memory.vectors.table

    def once(q: str) -> None:
        [vector] = embedder.embed([q])
        table.search(query_type="hybrid").vector(vector).text(q).limit(10).to_list()

    once(queries[0])
    times = []
    for q in queries:
        started = time.perf_counter()
        once(q)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


FIRST_RECALL = """
import sys, time
sys.path.insert(0, sys.argv[1])
from smolnb.memory import Memory, SentenceTransformerEmbedder
embedder = SentenceTransformerEmbedder()
embedder.embed(["warm the model"])
from smolnb.memory.embedders import _drop_shadowing_datasets
_drop_shadowing_datasets()  # this project's datasets/ folder would shadow Hugging Face's
started = time.perf_counter()
import lancedb
imported = time.perf_counter()
memory = Memory(graph=sys.argv[2], vectors=sys.argv[3], embedder=embedder)
opened = time.perf_counter()
memory.recall("what did Person12 report about graph for Project7?", k=10)
done = time.perf_counter()
print(f"{(imported - started) * 1000:.0f} {(opened - imported) * 1000:.0f} {(done - opened) * 1000:.0f}")
"""


def first_recall_ms(tmp: str) -> tuple[float, float, float]:
    """(import lancedb, open the memory, the first recall) in a new process, in ms."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", FIRST_RECALL, str(ROOT), f"networkx://{tmp}/big/kg.json", f"lancedb://{tmp}/big/vec"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, opened, recalled = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return imported, opened, recalled


def plot(batches: list[tuple[int, float]], recalls: list[tuple[int, float, float]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: no plot)")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot([n / 1000 for n, _ in batches], [t for _, t in batches], marker=".")
    left.set(xlabel="memories (thousands)", ylabel="seconds per 5,000 notes", title="ingest as the store grows")
    left.set_ylim(bottom=0)
    sizes = [n for n, _, _ in recalls]
    right.plot(sizes, [r for _, r, _ in recalls], marker="o", label="Memory.recall")
    right.plot(sizes, [h for _, _, h in recalls], marker="o", label="LanceDB hybrid search")
    right.set(xscale="log", xlabel="memories", ylabel="p50 ms (query embedding included)", title="recall latency")
    right.set_ylim(bottom=0)
    right.legend()
    fig.tight_layout()
    out = ROOT / "bench" / "memory_speed.png"
    fig.savefig(out, dpi=110)
    print(f"plot: {out.relative_to(ROOT)}")


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
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--million", action="store_true", help="grow on to 1M (synthetic note vectors past 100k)")
    parser.add_argument("--no-neo4j", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
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
        batches: list[tuple[int, float]] = []
        recalls: list[tuple[int, float, float]] = []
        print("memories  seconds for the last batch (5,000 notes + 1 fact each; cached real vectors)")
        for size in sizes:
            while have < size:
                n = min(5000, size - have)
                if have >= 100_000:
                    memory.vectors.embedder = SyntheticNotes(embedder)
                texts, facts = notes(n, start=have)
                memory.vectors.embedder.embed(texts)  # into the cache first: the batch times the store, not MiniLM
                started = time.perf_counter()
                memory.remember_many(texts, facts=facts, source="bench")
                took = time.perf_counter() - started
                have += n
                if n == 5000:
                    batches.append((have, took))
                    if have % 20_000 == 0 or have <= 20_000:
                        print(f"{have:8,}  {took:6.2f}")
            memory.vectors.settle()  # the store at rest: the last batch's rows are folded into the indexes
            p50, p95 = recall_latency(memory, queries)
            hybrid = lancedb_hybrid_p50(memory, embedder, queries)
            recalls.append((size, p50, hybrid))
            print(
                f"recall at {size:,} memories: p50 {p50:.1f} ms, p95 {p95:.1f} ms; LanceDB hybrid search on the same "
                f"table {hybrid:.1f} ms -> {p50 / hybrid:.2f}x (k=10, query embedding in both; targets p50 < 50 ms, <= 1.5x)"
            )
            if size == 100_000:
                imported, opened, recalled = first_recall_ms(tmp)
                print(
                    f"a new process at 100,000 memories: open {opened:.0f} ms + first recall {recalled:.0f} ms = "
                    f"{opened + recalled:.0f} ms (target < 1,000 ms); before them, `import lancedb` {imported:.0f} ms"
                )
        early = [t for n, t in batches if 10_000 < n <= 30_000]
        late = [t for n, t in batches if 80_000 < n <= 100_000]
        if early and late:
            built = max(batches, key=lambda b: b[1])
            print(
                f"ingest per 5,000 notes, median: {statistics.median(early):.2f} s at 10-30k, {statistics.median(late):.2f} s at "
                f"80-100k -> {statistics.median(late) / statistics.median(early):.2f}x (target <= 1.5x); the slowest batch, "
                f"{built[1]:.1f} s at {built[0]:,}, is an index build or maintenance pass"
            )
        memory.vectors.embedder = embedder
        started = time.perf_counter()
        embedder.embed([queries[0]])
        print(f"  of which embedding one query: {(time.perf_counter() - started) * 1000:.1f} ms")
        plot(batches, recalls)

        print(
            f"graph neighbourhood (depth 2, 5,000 facts) p50 on networkx: {neighbourhood_p50(f'networkx://{tmp}/nx/kg.json'):.2f} ms"
        )
        if not args.no_neo4j:
            from smolnb.services import neo4j_server

            with neo4j_server(Path(tmp) / "neo4j") as uri:
                print(f"graph neighbourhood (depth 2, 5,000 facts) p50 on Neo4j 5.26: {neighbourhood_p50(uri):.2f} ms")
                # Memory.recall with each graph under the same 10,000 notes (1 fact each), same run
                for label, graph in (("networkx", f"networkx://{tmp}/g10k/kg.json"), ("Neo4j 5.26", uri)):
                    mem = Memory(graph=graph, vectors=f"lancedb://{tmp}/g10k-{label[:2]}/vec", embedder=CachedNotes(embedder))
                    mem.graph.forget()
                    for start in range(0, 10_000, 5000):
                        texts, facts = notes(5000, start=start)
                        mem.remember_many(texts, facts=facts, source="bench")
                    p50, _ = recall_latency(mem, queries)
                    print(f"recall at 10,000 memories with the {label} graph: p50 {p50:.1f} ms")


if __name__ == "__main__":
    main()
