"""Names found by a model for `Memory(extract=...)`: kept only where the text holds them."""

import json

from smolnb.memory import HashEmbedder, Memory, ModelNames
from smolnb.models import TestModel

TEXTS = [
    "Maya: I met lena at the pottery class on Friday.",
    "Jon: Lisbon was lovely, we stayed near the river.",
    "Maya: Did you try the new bakery?",
]


def test_names_the_model_gives_are_kept_only_where_the_text_holds_them():
    model = TestModel(model_id="names")
    model.enqueue(json.dumps({"1": ["lena", "pottery class", "Paris"], "2": ["Lisbon", "Lisbon"], "3": []}))
    names = ModelNames(model, batch=8)
    assert names(TEXTS) == [["lena", "pottery class"], ["Lisbon"], []]  # Paris was made up; Lisbon once
    assert names.calls == 1 and names.fallbacks == 0


def test_a_reply_that_is_not_the_json_asked_for_falls_back_to_the_rule(caplog):
    model = TestModel(model_id="names")
    model.enqueue("Sure! The names are Lena and Lisbon.", json.dumps({"1": ["bakery"]}))
    names = ModelNames(model, batch=2)
    found = names(["We met Lena in Lisbon.", "Jon: the Tate was closed.", "Maya: Did you try the new bakery?"])
    assert found == [["Lena", "Lisbon"], ["Tate"], ["bakery"]]  # batch one by the rule, batch two by the model
    assert names.calls == 2 and names.fallbacks == 1 and "fell back to the rule" in caplog.text


def test_memory_keeps_the_model_s_names_and_recall_walks_from_them(tmp_path):
    model = TestModel(model_id="names")
    model.enqueue(json.dumps({"1": ["lena"], "2": ["lena", "kiln"]}))
    memory = Memory(
        graph=f"networkx://{tmp_path}/kg.json",
        vectors=f"lancedb://{tmp_path}/v",
        embedder=HashEmbedder(),
        extract=ModelNames(model),
    )
    ids = memory.remember_many(
        ["Maya: I met lena at the pottery class.", "Maya: lena fired my bowl in the kiln."],
        source="chat",
        provenance=[{"speaker": "Maya"}, {"speaker": "Maya"}],
    )
    mentioned = {(f.subject, f.object) for f in memory.graph.facts(predicate="MENTIONED_IN")}
    assert mentioned == {("lena", f"item:{ids[0]}"), ("lena", f"item:{ids[1]}"), ("kiln", f"item:{ids[1]}")}
    assert not memory.graph.facts(subject="Maya", predicate="MENTIONED_IN")  # the speaker is not a mention
