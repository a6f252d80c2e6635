"""Recall quality: plain vector search vs `Memory.recall`, on `datasets/memory_recall` and `datasets/conversations`.

    python bench/memory_recall.py [--graph neo4j://user:password@127.0.0.1:7687] [--no-ablation]

Part 2 (conversations): five dated two-person chats of 336 turns, 435 questions of five kinds; each
conversation in its own memory (turns stored as "Speaker: text" with their date and speaker, names kept
with `extract=True`), as the public long-conversation benchmarks do. Recall@k by kind for plain vector
search and `Memory.recall` (k=10, no relevance floor: recall returns what it has), the ablation (each
stage of recall off in turn), and how often recall's notice says the asked-about person is not in what
it found: on adversarial questions (should) and on the others (false alarms).

Both index the same 519 notes with the same all-MiniLM-L6-v2 embeddings; `Memory` also keeps the
facts each note carries in its graph (networkx by default). For each of the 105 questions,
recall@k is the share of the question's gold notes found in the top k; the figures are means.

Then the relevance floor: for each floor, the precision and recall of what `Memory.recall`
keeps (top 10) on the 105 questions, and the share of 30 off-topic questions that get nothing
back. The embedder's `relevance_floor` is chosen from this table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smolnb.memory import LanceVectorStore, Memory, SentenceTransformerEmbedder  # noqa: E402

DATA = ROOT / "datasets" / "memory_recall"
OFF_TOPIC = [
    "banana bread recipe",
    "How long should I boil an egg?",
    "best hiking trails near the coast",
    "What is the capital of Australia?",
    "how to fix a flat bicycle tyre",
    "Who won the football world cup in 1998?",
    "recommend a fantasy novel",
    "how do I descale a kettle",
    "symptoms of the common cold",
    "What time does the bakery open on Sundays?",
    "how to train a puppy to sit",
    "cheap flights to Iceland",
    "what wine goes with salmon",
    "how to knit a scarf",
    "When is the next full moon?",
    "tips for growing tomatoes",
    "How tall is Mount Kilimanjaro?",
    "a good stretching routine for runners",
    "how to make cold brew coffee",
    "Which planet has the most moons?",
    "how to remove a red wine stain",
    "learn to play the ukulele",
    "What is the plot of Hamlet?",
    "best way to store fresh basil",
    "how do tides work",
    "history of the Roman aqueducts",
    "how to change a car battery",
    "rules of cricket explained",
    "what to pack for a beach holiday",
    "how many bones are in the human body",
]
FLOORS = [0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]


def recall_at(found: list[str], gold: list[str], k: int) -> float:
    return len(set(found[:k]) & set(gold)) / len(gold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph", default=None, help="graph URI (default: networkx in a temp folder)")
    parser.add_argument("--no-ablation", action="store_true", help="conversations: skip turning stages off one by one")
    parser.add_argument("--only", choices=["notes", "conversations"], default=None)
    parser.add_argument(
        "--names-model",
        default=None,
        metavar="SPEC",
        help="only compare names found by the rule and by this model (e.g. local/qwen2.5-coder-0.5b) on --conversations",
    )
    parser.add_argument("--conversations", type=int, default=1, help="with --names-model: how many conversations")
    args = parser.parse_args()
    if args.names_model:
        names_by_model(args.names_model, args.conversations)
        return
    if args.only != "conversations":
        lab_notes(args)
    if args.only != "notes":
        conversations(not args.no_ablation)


def lab_notes(args: argparse.Namespace) -> None:
    items = [json.loads(line) for line in (DATA / "items.jsonl").open()]
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").open()]
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        memory = Memory(graph=args.graph or f"networkx://{tmp}/kg.json", vectors=f"lancedb://{tmp}/memory", embedder=embedder)
        memory.graph.forget()  # a fresh graph, also on a shared server
        started = time.perf_counter()
        memory.remember_many([i["text"] for i in items], facts=[[tuple(f) for f in i["facts"]] for i in items], source="notes")
        ingest = time.perf_counter() - started
        plain = LanceVectorStore(f"{tmp}/plain", embedder)
        from smolnb.memory import MemoryItem

        plain.upsert([MemoryItem(i["text"]) for i in items])
        by_text = {i["text"]: i["id"] for i in items}

        scores: dict[str, dict[str, list[float]]] = {"vector search": defaultdict(list), "Memory.recall": defaultdict(list)}
        by_kind: dict[str, dict[str, list[list[float]]]] = defaultdict(lambda: defaultdict(list))  # kind -> name -> [r@1,5,10]
        for q in questions:
            runs = {
                "vector search": [by_text[i.text] for i in plain.vector_search(q["question"], k=10)],
                "Memory.recall": [by_text.get(i.text, i.id) for i in memory.recall(q["question"], k=10)],
            }
            for name, found in runs.items():
                for k in (1, 5, 10):
                    scores[name][f"@{k}"].append(recall_at(found, q["item_ids"], k))
                by_kind[q["kind"]][name].append([recall_at(found, q["item_ids"], k) for k in (1, 5, 10)])
        floor_table = calibrate(memory, questions, by_text)
        from smolnb.memory.recall import STAGES

        ablation = {}
        for stage in sorted(STAGES) if not args.no_ablation else []:
            memory.stages = STAGES - {stage}
            found = [[by_text.get(i.text, i.id) for i in memory.recall(q["question"], k=10)] for q in questions]
            ablation[stage] = sum(recall_at(ids, q["item_ids"], 10) for ids, q in zip(found, questions, strict=True)) / len(
                questions
            )
        memory.stages = STAGES
        memory.close()

    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    print(
        f"{len(items)} notes, {len(questions)} questions, graph {'networkx' if not args.graph else args.graph.split('@')[-1]}, "
        f"ingest {ingest:.1f} s"
    )
    print(f"{'':16}{'recall@1':>10}{'recall@5':>10}{'recall@10':>11}")
    for name, per_k in scores.items():
        print(f"{name:16}{mean(per_k['@1']):10.3f}{mean(per_k['@5']):10.3f}{mean(per_k['@10']):11.3f}")
    base, ours = mean(scores["vector search"]["@10"]), mean(scores["Memory.recall"]["@10"])
    print(f"recall@10: Memory.recall / vector search = {ours / base:.2f} ({(ours / base - 1) * 100:+.0f}%; target >= +20%)")
    print_by_kind({kind: dict(per_name) for kind, per_name in by_kind.items()})

    if ablation:
        print(
            "  recall@10 with one stage of recall off: " + ", ".join(f"{stage} {value:.3f}" for stage, value in ablation.items())
        )
    chosen = embedder.relevance_floor
    print(f"\nrelevance floor (cosine similarity; graph-reached notes always kept), {embedder.name}:")
    print(f"{'floor':>7}{'precision':>11}{'recall':>8}{'off-topic empty':>17}")
    for floor, precision, recall, empty in floor_table:
        mark = "  <- relevance_floor" if abs(floor - chosen) < 1e-9 else ""
        print(f"{floor:7.2f}{precision:11.3f}{recall:8.3f}{empty:17.2f}{mark}")


def calibrate(memory: Memory, questions: list[dict], by_text: dict[str, str]) -> list[tuple[float, float, float, float]]:
    """(floor, precision, recall, share of off-topic questions answered with nothing) per floor, recall run at each floor."""
    table = []
    for floor in FLOORS:
        kept = found = gold = 0
        for q in questions:
            ids = [by_text.get(i.text, i.id) for i in memory.recall(q["question"], k=10, min_relevance=floor)]
            kept += len(ids)
            found += len(set(ids) & set(q["item_ids"]))
            gold += len(q["item_ids"])
        empty = sum(not memory.recall(q, k=10, min_relevance=floor) for q in OFF_TOPIC)
        table.append((floor, found / max(kept, 1), found / gold, empty / len(OFF_TOPIC)))
    return table


def names_by_model(spec: str, how_many: int) -> None:
    """Recall@10 (every stage on) with the names of each turn found by the rule, by a model, and by both."""
    import datetime as dt

    from smolnb.memory import ModelNames
    from smolnb.memory.recall import mentions
    from smolnb.models import get_model

    data = ROOT / "datasets" / "conversations"
    turns = [json.loads(line) for line in (data / "turns.jsonl").open()]
    questions = [json.loads(line) for line in (data / "questions.jsonl").open()]
    embedder = SentenceTransformerEmbedder()
    model_names = ModelNames(get_model(spec), batch=8)
    names: dict[str, dict[str, list[str]]] = {"rule": {}, "model": {}}
    seconds = 0.0
    found: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with tempfile.TemporaryDirectory() as tmp:
        for conv in sorted({t["conversation"] for t in turns})[:how_many]:
            mine = [t for t in turns if t["conversation"] == conv]
            texts = [f"{t['speaker']}: {t['text']}" for t in mine]
            started = time.perf_counter()
            by_model = model_names(texts)
            seconds += time.perf_counter() - started
            names["model"].update(zip(texts, by_model, strict=True))
            extractors: dict[str, Any] = {
                "rule": True,
                "model": lambda batch: [names["model"][t] for t in batch],
                "rule + model": lambda batch: [list(dict.fromkeys([*mentions(t), *names["model"][t]])) for t in batch],
            }
            when = [dt.datetime.fromisoformat(t["date"]).replace(tzinfo=dt.UTC).timestamp() for t in mine]
            by_text = {text: t["id"] for text, t in zip(texts, mine, strict=True)}
            for label, extract in extractors.items():
                memory = Memory(
                    graph=f"networkx://{tmp}/{conv}-{label}.json",
                    vectors=f"lancedb://{tmp}/{conv}-{label}",
                    embedder=embedder,
                    extract=extract,
                )
                memory.remember_many(
                    texts,
                    source="chat",
                    provenance=[{"speaker": t["speaker"], "time": w} for t, w in zip(mine, when, strict=True)],
                )
                for q in (q for q in questions if q["conversation"] == conv):
                    ids = [by_text.get(i.text, i.id) for i in memory.recall(q["question"], k=10, min_relevance=0.0)]
                    found[label][q["kind"]].append(recall_at(ids, q["evidence"], 10))
                memory.close()
    kinds = sorted(next(iter(found.values())))
    total = sum(len(found["rule"][k]) for k in kinds)
    print(
        f"\nnames by {spec} ({model_names.calls} calls of 8 turns, {model_names.fallbacks} fell back to the rule, "
        f"{seconds / max(1, len(names['model'])):.2f} s a turn) on {how_many} conversation(s), {total} questions; recall@10"
    )
    print(f"  {'names':14}{'all':>7}" + "".join(f"{k:>13}" for k in kinds))
    for label, by_kind in found.items():
        every = [r for k in kinds for r in by_kind[k]]
        print(
            f"  {label:14}{sum(every) / len(every):7.3f}" + "".join(f"{sum(by_kind[k]) / len(by_kind[k]):13.3f}" for k in kinds)
        )


def print_by_kind(by_kind: dict[str, dict[str, list[list[float]]]]) -> None:
    """Recall@1/5/10 of each kind of question, for each retriever."""
    names = list(next(iter(by_kind.values())))
    print(f"  {'kind':14}{'questions':>10}" + "".join(f"{name + ' @1/@5/@10':>34}" for name in names))
    for kind, per_name in sorted(by_kind.items()):
        cells = []
        for name in names:
            rows = per_name[name]
            cells.append("/".join(f"{sum(r[i] for r in rows) / len(rows):.3f}" for i in range(3)))
        print(f"  {kind:14}{len(per_name[names[0]]):>10}" + "".join(f"{cell:>34}" for cell in cells))


def conversations(ablation: bool) -> None:
    import datetime as dt

    from smolnb.memory.recall import STAGES

    data = ROOT / "datasets" / "conversations"
    turns = [json.loads(line) for line in (data / "turns.jsonl").open()]
    questions = [json.loads(line) for line in (data / "questions.jsonl").open()]
    embedder = SentenceTransformerEmbedder()
    configs = ["all"] + (sorted(STAGES) if ablation else [])
    found_at: dict[str, dict[str, list[list[float]]]] = defaultdict(lambda: defaultdict(list))  # config -> kind -> [r@1,5,10]
    notices: dict[str, list[bool]] = defaultdict(list)
    ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for conv in sorted({t["conversation"] for t in turns}):
            mine = [t for t in turns if t["conversation"] == conv]
            texts = [f"{t['speaker']}: {t['text']}" for t in mine]
            memory = Memory(
                graph=f"networkx://{tmp}/{conv}.json", vectors=f"lancedb://{tmp}/{conv}", embedder=embedder, extract=True
            )
            when = [dt.datetime.fromisoformat(t["date"]).replace(tzinfo=dt.UTC).timestamp() for t in mine]
            memory.remember_many(
                texts, source="chat", provenance=[{"speaker": t["speaker"], "time": w} for t, w in zip(mine, when, strict=True)]
            )
            plain = LanceVectorStore(f"{tmp}/{conv}-plain", embedder)
            from smolnb.memory import MemoryItem

            plain.upsert([MemoryItem(text) for text in texts])
            by_text = {text: t["id"] for text, t in zip(texts, mine, strict=True)}
            asked = [q for q in questions if q["conversation"] == conv]
            for q in asked:
                runs = {"vector search": [by_text[i.text] for i in plain.vector_search(q["question"], k=10)]}
                for config in configs:
                    memory.stages = STAGES if config == "all" else STAGES - {config}
                    started = time.perf_counter()
                    result = memory.recall(q["question"], k=10, min_relevance=0.0)
                    if config == "all":
                        ms.append((time.perf_counter() - started) * 1000)
                        notices[q["kind"] == "adversarial"].append("nothing said by or about" in result.notice)
                    runs["Memory.recall" if config == "all" else f"  without {config}"] = [
                        by_text.get(i.text, i.id) for i in result
                    ]
                for name, ids in runs.items():
                    found_at[name][q["kind"]].append([recall_at(ids, q["evidence"], k) for k in (1, 5, 10)])
            memory.close()
    kinds = sorted({q["kind"] for q in questions})
    count = {kind: sum(q["kind"] == kind for q in questions) for kind in kinds}
    print(
        f"\n{len(turns)} turns in {len({t['conversation'] for t in turns})} conversations, {len(questions)} questions; recall@10 by kind"
    )
    print(f"{'':24}{'@1':>7}{'@5':>7}{'@10':>7}" + "".join(f"{k + f' ({count[k]})':>18}" for k in kinds))
    for name, by_kind in found_at.items():
        every = [r for kind in kinds for r in by_kind[kind]]
        overall = [sum(r[i] for r in every) / len(every) for i in range(3)]
        row = "".join(f"{sum(r[2] for r in by_kind[kind]) / len(by_kind[kind]):18.3f}" for kind in kinds)
        print(f"{name:24}{overall[0]:7.3f}{overall[1]:7.3f}{overall[2]:7.3f}{row}")
    print_by_kind({kind: {name: found_at[name][kind] for name in ("vector search", "Memory.recall")} for kind in kinds})
    base = sum(r[2] for kind in kinds for r in found_at["vector search"][kind]) / len(questions)
    ours = sum(r[2] for kind in kinds for r in found_at["Memory.recall"][kind]) / len(questions)
    print(f"recall@10: Memory.recall / vector search = {ours / base:.2f} ({(ours / base - 1) * 100:+.0f}%; target >= +25%)")
    print(
        f"notice 'nothing said by or about PERSON': {sum(notices[True]) / len(notices[True]):.0%} of adversarial questions, "
        f"{sum(notices[False]) / len(notices[False]):.0%} of the others (false alarms); recall p50 {statistics.median(ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
