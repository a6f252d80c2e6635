"""LanceDB with the real all-MiniLM-L6-v2, and Memory as tools and as memory of an agent."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from smolnb import CodeAgent, Memory
from smolnb.errors import UserError
from smolnb.memory import HashEmbedder, LanceVectorStore, MemoryItem, open_vectors
from smolnb.models import TestModel
from tests.helpers import py, task_message

REPO = str(Path(__file__).resolve().parents[2])
NOTES = [
    "Ada Lovelace wrote the first published computer program in 1843.",
    "Grace Hopper built one of the first compilers, the A-0 system.",
    "The Eiffel Tower was finished in 1889 for the World's Fair in Paris.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "The Rust language uses ownership and borrowing instead of a garbage collector.",
]


def test_real_minilm_semantic_recall(minilm, tmp_path):
    store = LanceVectorStore(tmp_path / "vectors", minilm)
    store.upsert([MemoryItem(text, source="notes") for text in NOTES])
    assert minilm.dim == 384 and store.count() == 5
    assert "Lovelace" in store.search("who wrote the earliest software?", k=1)[0].text  # no shared keywords
    assert "compiler" in store.search("early compiler pioneer", k=1)[0].text
    assert "Eiffel" in store.search("a famous Parisian landmark", k=1)[0].text
    assert [i.text for i in store.search("Paris", k=3, where="source = 'nope'")] == []


def test_persistence_across_processes(minilm, tmp_path):
    code = (
        "import sys\n"
        "from smolnb import Memory\n"
        "m = Memory(graph='networkx://' + sys.argv[1] + '/kg.json', vectors='lancedb://' + sys.argv[1] + '/vec')\n"
        "m.remember('The lab meeting moved to Thursdays at 10.', source='notes', facts=[('lab meeting', 'HAPPENS_ON', 'Thursday')])\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        check=True,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=minilm)
    [item] = memory.recall("when is the lab meeting?", k=3)
    assert "Thursdays at 10" in item.text
    [fact] = memory.facts_about("lab meeting")
    assert fact.text() == "lab meeting happens on Thursday" and fact.provenance["item_id"] == item.id


def test_upsert_delete_and_bad_input(tmp_path):
    store = LanceVectorStore(tmp_path / "v", HashEmbedder())
    [first] = store.upsert([MemoryItem("alpha beta", source="a")])
    store.upsert([MemoryItem("alpha beta gamma", source="a", id=first)])  # same id: updated, not added
    assert store.count() == 1
    store.upsert([MemoryItem("delta", source="b")])
    assert store.delete(source="b") == 1 and store.count() == 1
    with pytest.raises(UserError, match="the text is empty"):
        store.upsert([MemoryItem("   ")])
    with pytest.raises(UserError, match="too long"):
        store.upsert([MemoryItem("x" * 30_000)])
    with pytest.raises(UserError, match="unknown vector store URI"):
        open_vectors("chroma://x")


def test_the_ann_index_is_built_once_then_folded_over(tmp_path, monkeypatch):
    """A maintenance pass that finds the vector index keeps it (it was rebuilt from scratch on
    every pass: LanceDB names the type `IvfPq`), in this process and in a new one."""
    monkeypatch.setattr(LanceVectorStore, "ann_threshold", 1000)
    built: list[str] = []

    def counting(store):
        real = store.table.create_index

        def create_index(column, *args, **kwargs):
            built.append(column)
            return real(column, *args, **kwargs)

        store.table.create_index = create_index
        return store

    store = counting(LanceVectorStore(tmp_path / "v", HashEmbedder()))
    for batch in range(5):
        store.upsert([MemoryItem(f"batch {batch} note {i} about topic {i % 17}") for i in range(1000)])
    assert built.count("vector") == 1, built
    assert any(i.index_type.lower().startswith("ivf") for i in store.table.list_indices())
    again = counting(LanceVectorStore(tmp_path / "v", HashEmbedder()))  # as a new process opens it
    assert again.search("note about topic 3", k=3)
    again.upsert([MemoryItem(f"more {i}") for i in range(1000)])
    assert built.count("vector") == 1, built


def test_new_rows_are_folded_into_the_indexes_in_the_background(tmp_path, monkeypatch):
    """A full-text search tokenizes every row its index lacks (5,000 such rows cost a query ~17 ms
    at 100k): a write that leaves more than `fold_rows` of them starts a fold, and the writer does
    not wait for it. Words written last are found before and after the fold."""
    monkeypatch.setattr(LanceVectorStore, "fold_rows", 100)
    store = LanceVectorStore(tmp_path / "v", HashEmbedder())
    for batch in range(6):
        store.upsert([MemoryItem(f"batch {batch} note {i} about topic {i % 17}") for i in range(150)])
    store.upsert([MemoryItem("the run id is zq7x-unique")])
    assert [i.text for i in store.search("zq7x-unique", k=1)] == ["the run id is zq7x-unique"]
    store.settle()  # the fold in flight, if any, has ended
    tails = {i.name: store.table.index_stats(i.name).num_unindexed_rows for i in store.table.list_indices()}
    assert tails and max(tails.values()) <= 151, tails
    assert [i.text for i in store.search("zq7x-unique", k=1)] == ["the run id is zq7x-unique"]
    assert store.count() == 901


def test_threads_write_vectors_without_loss(tmp_path):
    store = LanceVectorStore(tmp_path / "v", HashEmbedder())

    def writer(t):
        for i in range(200):
            store.upsert([MemoryItem(f"thread {t} item {i}")])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = [r["text"] for r in store.table.search().select(["text"]).limit(10_000).to_list()]
    assert len(texts) == 1600 and len(set(texts)) == 1600


WRITER = (
    "import sys\n"
    "from smolnb.memory import HashEmbedder, LanceVectorStore, MemoryItem\n"
    "store = LanceVectorStore(sys.argv[1], HashEmbedder())\n"
    "for i in range(int(sys.argv[3])):\n"
    "    store.upsert([MemoryItem(f'process {sys.argv[2]} item {i}')])\n"
    "    print(i + 1, flush=True)\n"
)


def test_processes_write_vectors_without_loss(tmp_path):
    env = {"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / "v"), str(p), "200"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(4)
    ]
    outcomes = []
    for p in procs:
        _, err = p.communicate(timeout=300)  # and closes the pipe
        outcomes.append((p.returncode, err[-1500:]))
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    store = LanceVectorStore(tmp_path / "v", HashEmbedder())
    texts = [r["text"] for r in store.table.search().select(["text"]).limit(10_000).to_list()]
    assert len(texts) == 800 and len(set(texts)) == 800


def test_a_killed_vector_writer_loses_nothing_it_committed(tmp_path):
    import signal
    import time

    env = {"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "v"), "0", "100000"], env=env, stdout=subprocess.PIPE, text=True
    )
    committed = 0
    deadline = time.monotonic() + 120
    while committed < 60 and time.monotonic() < deadline:
        committed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)  # mid-way through the next write
    proc.wait()
    proc.stdout.close()
    store = LanceVectorStore(tmp_path / "v", HashEmbedder())  # opens fine
    assert store.count() >= committed
    assert store.search("process 0 item 5", k=3)  # and answers


def test_memory_as_tools_and_as_memory(tmp_path):
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.remember("The project codename is Bluebird.", source="notes", facts=[("Bluebird", "LED_BY", "Dana")])
    model = TestModel(
        [
            py("found = search_memory('project codename Bluebird')\nprint(found)\nadd_fact('Bluebird', 'USES', 'Python')"),
            py(
                "rows = query_graph(\"MATCH (a)-[r]->(b) WHERE a.name = 'Bluebird' RETURN type(r) AS r, b.name AS b\")\n"
                "final_answer(sorted(r['b'] for r in rows))"
            ),
        ]
    )
    result = CodeAgent(model=model, memory=memory).run("Who leads project Bluebird, and what does it use?")
    assert result.output == ["Dana", "Python"]
    first_prompt = model.calls[0]["messages"]
    assert "Relevant memories:" in task_message(first_prompt) and "Bluebird" in task_message(first_prompt)
    assert "search_memory(query: string, k?: integer)" in first_prompt[0]["content"]
    assert "The project codename is Bluebird." in result.steps[0].stdout
    [fact] = memory.graph.facts(subject="Bluebird", predicate="USES")
    assert fact.provenance["run_id"] == result.run_id and fact.provenance["source"] == "agent"
    stored = memory.recall("Who leads project Bluebird", k=10)
    assert any(i.source == f"run:{result.run_id}" for i in stored)  # the run's answer was remembered


def test_memory_down_lets_the_run_go_on(tmp_path, caplog):
    from smolnb.errors import BackendError

    class DownGraph:  # every call fails, as every call to a server that is down does
        uri = "neo4j://down"

        def __getattr__(self, name):
            def down(*args, **kwargs):
                raise BackendError("the Neo4j server at neo4j://down cannot be reached")

            return down

        def close(self):
            pass

    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.graph = DownGraph()
    model = TestModel([py("final_answer('fine')")])
    result = CodeAgent(model=model, memory=memory).run("anything")
    assert result.output == "fine"
    assert "Long-term memory is unavailable" in task_message(model.calls[0]["messages"])
    assert "cannot be reached" in caplog.text


def test_fact_extraction_after_a_run(tmp_path, caplog):
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    model = TestModel(
        [
            py("final_answer('Dana leads Bluebird')"),
            '{"facts": [{"subject": "Bluebird", "relation": "LED_BY", "object": "Dana"}, {"subject": "x"}]}',
        ]
    )
    result = CodeAgent(model=model, memory=memory, extract_facts=True).run("Who leads Bluebird? It is Dana.")
    assert result.status == "success"
    [fact] = memory.graph.facts(subject="Bluebird")
    assert fact.text() == "Bluebird led by Dana"
    assert fact.provenance["run_id"] == result.run_id and fact.provenance["source"] == "extraction"
    assert model.calls[1]["response_format"] == {"type": "json_object"} and "JSON" in model.calls[1]["messages"][0]["content"]

    model = TestModel([py("final_answer(1)"), "no json here"])
    result = CodeAgent(model=model, memory=memory, extract_facts=True).run("One fact-free task.")
    assert result.status == "success" and result.output == 1
    assert "fact extraction after run" in caplog.text and "stored nothing" in caplog.text


def test_a_runs_answer_is_an_outcome_not_knowledge(tmp_path):
    """One run answered 42; a later run on a similar question must not be told '42' as a memory."""
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    first = CodeAgent(model=TestModel([py("final_answer(42)")]), memory=memory).run("What is the biggest number in the list?")
    assert first.output == 42
    [stored] = [i for i in memory.recall("biggest number in the list", k=10) if i.source == f"run:{first.run_id}"]
    assert stored.provenance["outcome"] is True and stored.provenance["verified"] is False
    assert stored.provenance["status"] == "success" and stored.provenance["model"]
    model = TestModel([py("final_answer(7)")])
    CodeAgent(model=model, memory=memory).run("What is the biggest number in the list?")
    prompt = task_message(model.calls[0]["messages"])
    assert "42" not in prompt  # an unverified answer is never presented as knowledge
    # a note the user gave is still recalled
    memory.remember("The list is [3, 7, 5].", source="notes")
    model = TestModel([py("final_answer(7)")])
    CodeAgent(model=model, memory=memory).run("What is the biggest number in the list?")
    assert "The list is [3, 7, 5]." in task_message(model.calls[0]["messages"])


LAB_NOTES = [
    "Ingrid Rossi works from the Osaka office and specialises in active learning.",
    "Project Heron kicked off in March; Mateo Berg leads it and jobs may use 8 GPUs.",
    "Run EXP-4821 of project Heron scored 0.87 on the held-out set.",
    "The reading group meets on Fridays to discuss diffusion models.",
]


def test_recall_has_a_relevance_floor_and_readable_scores(minilm, tmp_path):
    """An unrelated query gets nothing back (it used to get every note, ranked by RRF), and
    what comes back says how relevant it is, in words and on a 0-1 scale a reader understands."""
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=minilm)
    memory.remember_many(LAB_NOTES, source="notes")
    assert memory.recall("banana bread recipe", k=5) == []
    assert memory.recall("best hiking trails near the coast", k=5) == []
    assert memory.context_for("banana bread recipe") == ""
    found = memory.recall("How many GPUs may Heron jobs use?", k=5)
    assert found and "8 GPUs" in found[0].text
    assert 0.0 < found[-1].relevance <= found[0].relevance <= 1.0
    assert all(item.relevance >= minilm.relevance_floor or item.via.startswith("graph") for item in found)
    assert found[0].via in ("meaning", "meaning and words")
    # the floor can be lowered on purpose, and the store's own search keeps every hit, with relevance
    assert len(memory.recall("banana bread recipe", k=5, min_relevance=0.0)) == 4
    assert all(0.0 <= item.relevance < minilm.relevance_floor for item in memory.vectors.search("banana bread recipe", k=4))


def test_recall_embeds_the_query_once(tmp_path):
    """The graph's side of a recall reuses the vector search's embedding of the query (it
    embedded the query a second time: a third of a recall's time at 100k memories)."""

    class Counting(HashEmbedder):
        calls = 0

        def embed(self, texts):
            Counting.calls += len(texts) == 1
            return super().embed(texts)

    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=Counting())
    memory.remember("Heron jobs may use 8 GPUs.", facts=[("Heron", "GPU_LIMIT", "8")])
    memory.remember("Lima runs on the old cluster.", facts=[("Lima", "RUNS_ON", "old cluster")])
    Counting.calls = 0
    found = memory.recall("How many GPUs may Heron jobs use?", k=3)
    assert Counting.calls == 1
    heron = next(item for item in found if "Heron" in item.text)
    assert "graph" in heron.via and heron.relevance > 0  # reached through the graph, with its relevance


def test_loading_the_embedder_prints_nothing(minilm, capfd):
    """The "Loading weights" bar of the embedding model appeared above the first trace of every
    kernel (stderr, so the cell)."""
    from smolnb.memory import SentenceTransformerEmbedder

    capfd.readouterr()
    embedder = SentenceTransformerEmbedder()
    assert embedder.embed(["a note"])
    out, err = capfd.readouterr()
    assert "Loading weights" not in err + out and "%|" not in err, err[-500:]


def test_one_query_is_embedded_as_the_batch_path_embeds_it(minilm):
    """A single query takes a short path through the model (no encode() bookkeeping): same vector."""
    texts = ["what did Person12 report about retrieval for Project7?", "ünïcode, 数字 and emoji 🚀", "x"]
    batch = minilm.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    for text, expected in zip(texts, batch, strict=True):
        [one] = minilm.embed([text])
        assert len(one) == minilm.dim
        assert max(abs(a - float(b)) for a, b in zip(one, expected, strict=True)) < 1e-5
