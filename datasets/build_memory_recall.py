"""Build the memory recall benchmark: a research lab's notes over many sessions, and questions
whose answers are in one or two of the notes.

    python datasets/build_memory_recall.py

writes `memory_recall/items.jsonl` (id, session, text, facts) and `memory_recall/questions.jsonl`
(id, kind, question, answer, item_ids) and prints their SHA-256 for `memory_recall/README.md`.
Everything is generated from a fixed seed: the gold item ids are known by construction.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "memory_recall"

FIRST = ["Priya", "Tomas", "Amara", "Kenji", "Lena", "Mateo", "Sofia", "Ravi", "Ingrid", "Kwame", "Yara", "Oskar",
         "Mei", "Dario", "Hana", "Felix", "Nadia", "Arjun", "Elif", "Bruno"]  # fmt: skip
LAST = ["Raman", "Novak", "Okafor", "Sato", "Berg", "Alvarez", "Rossi", "Iyer", "Larsen", "Mensah", "Haddad",
        "Lindqvist", "Chen", "Moretti", "Kimura", "Weber"]  # fmt: skip
CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Bergen", "Valparaiso", "Turin", "Pune", "Aarhus", "Accra",
          "Beirut", "Uppsala", "Shenzhen", "Bologna", "Sapporo", "Leipzig", "Cordoba", "Tartu", "Gdansk", "Porto"]  # fmt: skip
PROJECTS = ["Kestrel", "Osprey", "Heron", "Plover", "Merlin", "Avocet", "Bittern", "Curlew", "Dunlin", "Egret",
            "Fulmar", "Gannet", "Harrier", "Jacana", "Kittiwake", "Lapwing", "Nightjar", "Oriole", "Petrel", "Redstart",
            "Siskin", "Tern", "Wagtail", "Wryneck", "Bunting", "Garnet", "Basalt", "Cobalt", "Feldspar", "Gypsum",
            "Jasper", "Mica", "Obsidian", "Pyrite", "Quartz", "Rutile", "Talc", "Topaz", "Zircon", "Beryl",
            "Vega", "Rigel", "Deneb", "Altair", "Mizar", "Castor", "Pollux", "Sirius", "Antares", "Capella"]  # fmt: skip
LANGUAGES = ["Rust", "Julia", "Go", "OCaml", "Haskell", "Scala", "Kotlin", "Elixir", "Zig", "Nim", "C++", "Fortran"]
TOPICS = ["graph neural networks", "retrieval augmented generation", "causal inference", "speech recognition",
          "protein folding", "reinforcement learning", "time series forecasting", "program synthesis",
          "active learning", "federated learning", "model distillation", "tabular anomaly detection"]  # fmt: skip
METRICS = ["accuracy", "F1", "BLEU", "recall at 10", "exact match", "AUROC"]
DATASETS = ["Mosaic", "Lantern", "Tidepool", "Quarry", "Sundial", "Meadow", "Harbor", "Lattice", "Ember", "Orchard",
            "Beacon", "Cinder", "Drift", "Fjord", "Glade", "Hollow", "Inlet", "Juniper", "Kiln", "Loom"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


def build(seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    items: list[dict] = []
    session = 0

    def note(text: str, facts: list[list[str]]) -> str:
        item_id = f"m{len(items) + 1:04d}"
        items.append({"id": item_id, "session": session, "text": text, "facts": facts})
        return item_id

    names = [f"{f} {l}" for f in FIRST for l in LAST]
    rng.shuffle(names)
    people = names[:60]
    person_note, person_city = {}, {}
    for person in people:
        session += 1
        city, topic = rng.choice(CITIES), rng.choice(TOPICS)
        person_city[person] = city
        person_note[person] = note(f"{person} works from the {city} office and specialises in {topic}.",
                                   [[person, "WORKS_IN", city], [person, "SPECIALISES_IN", topic]])  # fmt: skip

    lead, lead_note, project_lang, project_note = {}, {}, {}, {}
    for project in PROJECTS:
        session += 1
        who, lang = rng.choice(people), rng.choice(LANGUAGES)
        lead[project], project_lang[project] = who, lang
        project_note[project] = note(f"Kickoff for project {project}: {who} leads it and the codebase is written in {lang}.",
                                     [[project, "LED_BY", who], [project, "WRITTEN_IN", lang]])  # fmt: skip
        lead_note[project] = project_note[project]

    runs: dict[str, tuple[str, str, str]] = {}
    run_note = {}
    meeting = 0
    for _ in range(240):
        session += 1
        project = rng.choice(PROJECTS)
        run = f"EXP-{rng.randrange(1000, 9999)}"
        while run in runs:
            run = f"EXP-{rng.randrange(1000, 9999)}"
        metric, value, data = rng.choice(METRICS), f"{rng.uniform(0.4, 0.99):.3f}", rng.choice(DATASETS)
        runs[run] = (project, metric, value)
        run_note[run] = note(f"Run {run} for project {project}: {metric} reached {value} on the {data} dataset.",
                             [[run, "PART_OF", project], [run, "EVALUATED_ON", data]])  # fmt: skip
        if rng.random() < 0.45:  # the lab also talks about other things
            meeting += 1
            a, b = rng.sample(TOPICS, 2)
            note(f"Reading group {meeting}: we discussed {a} and agreed to revisit {b} next week.", [])

    changed = rng.sample(PROJECTS, 30)
    for project in changed:
        session += 1
        new = rng.choice([p for p in people if p != lead[project]])
        month = rng.choice(MONTHS)
        lead_note[project] = note(f"From {month}, {new} takes over project {project} from {lead[project]}.",
                                  [[project, "LED_BY", new]])  # fmt: skip
        lead[project] = new

    data_owner, data_note = {}, {}
    for data in DATASETS:
        session += 1
        owner = rng.choice(people)
        data_owner[data] = owner
        data_note[data] = note(f"The {data} dataset is stored in bucket lab-{data.lower()}-{rng.randrange(10, 99)} and {owner} owns it.",
                               [[data, "OWNED_BY", owner]])  # fmt: skip

    questions: list[dict] = []

    def ask(kind: str, text: str, answer: str, ids: list[str]) -> None:
        questions.append({"id": f"q{len(questions) + 1:03d}", "kind": kind, "question": text, "answer": answer, "item_ids": ids})

    for project in rng.sample(PROJECTS, 35):
        who = lead[project]
        ask("two-hop", f"Which office does the person who currently leads project {project} work from?", person_city[who],
            [lead_note[project], person_note[who]])  # fmt: skip
    for project in rng.sample(PROJECTS, 20):
        ask("one-hop", f"What programming language is the codebase of project {project} written in?", project_lang[project],
            [project_note[project]])  # fmt: skip
    for run in rng.sample(sorted(runs), 25):
        project, metric, value = runs[run]
        ask("exact-id", f"What score did run {run} get?", value, [run_note[run]])
    for run in rng.sample(sorted(runs), 15):
        project = runs[run][0]
        ask("two-hop", f"Who is in charge of the project that run {run} belongs to?", lead[project], [run_note[run], lead_note[project]])
    for data in rng.sample(DATASETS, 10):
        owner = data_owner[data]
        ask("two-hop", f"In which city does the owner of the {data} dataset work?", person_city[owner], [data_note[data], person_note[owner]])
    return items, questions


def main() -> None:
    items, questions = build()
    OUT.mkdir(exist_ok=True)
    for name, rows in (("items.jsonl", items), ("questions.jsonl", questions)):
        data = "".join(json.dumps(row) + "\n" for row in rows).encode()
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(rows)} rows, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
