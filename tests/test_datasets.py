"""The datasets: each loads, has the promised shape, and is what its builder makes."""

import hashlib
import importlib.util
import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "datasets"


def _load_builder(name):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_recall_benchmark_shape_and_checksums():
    items = [json.loads(line) for line in (DATA / "memory_recall" / "items.jsonl").read_text().splitlines()]
    questions = [json.loads(line) for line in (DATA / "memory_recall" / "questions.jsonl").read_text().splitlines()]
    assert len(items) >= 500 and len(questions) >= 100
    ids = {i["id"] for i in items}
    assert len(ids) == len(items) and len({i["text"] for i in items}) == len(items)
    for q in questions:
        assert q["question"].strip() and q["item_ids"] and set(q["item_ids"]) <= ids
        texts = " ".join(i["text"] for i in items if i["id"] in q["item_ids"])
        assert q["answer"] in texts  # the gold notes hold the answer
    card = (DATA / "memory_recall" / "README.md").read_text()
    for name in ("items.jsonl", "questions.jsonl"):
        digest = hashlib.sha256((DATA / "memory_recall" / name).read_bytes()).hexdigest()
        assert re.search(rf"`{name}` {digest}", card), f"the datacard's checksum of {name} is stale"


def test_memory_recall_builder_reproduces_the_files():
    items, questions = _load_builder("build_memory_recall").build()
    on_disk = [json.loads(line) for line in (DATA / "memory_recall" / "items.jsonl").read_text().splitlines()]
    assert items == on_disk
    assert questions == [json.loads(line) for line in (DATA / "memory_recall" / "questions.jsonl").read_text().splitlines()]


def test_conversations_benchmark_shape_checksums_and_builder():
    turns = [json.loads(line) for line in (DATA / "conversations" / "turns.jsonl").read_text().splitlines()]
    questions = [json.loads(line) for line in (DATA / "conversations" / "questions.jsonl").read_text().splitlines()]
    by_id = {t["id"]: t for t in turns}
    conversations = {t["conversation"] for t in turns}
    assert len(conversations) >= 5 and all(sum(t["conversation"] == c for t in turns) >= 300 for c in conversations)
    assert len(questions) >= 400 and {q["kind"] for q in questions} == {
        "single-hop",
        "multi-hop",
        "temporal",
        "open-domain",
        "adversarial",
    }
    for q in questions:
        evidence = [by_id[e] for e in q["evidence"]]
        assert evidence and all(t["conversation"] == q["conversation"] for t in evidence)
        if q["kind"] == "multi-hop":
            assert len({t["session"] for t in evidence}) == 2  # the answer spans sessions
        if q["kind"] == "adversarial":
            assert q["answer"] == "" and evidence[0]["speaker"] not in q["question"]  # asked about the other friend
    card = (DATA / "conversations" / "README.md").read_text()
    for name in ("turns.jsonl", "questions.jsonl"):
        digest = hashlib.sha256((DATA / "conversations" / name).read_bytes()).hexdigest()
        assert re.search(rf"`{name}` {digest}", card), f"the datacard's checksum of {name} is stale"
    assert _load_builder("build_conversations").build() == (turns, questions)
