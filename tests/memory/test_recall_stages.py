"""What `Memory.recall` reads from a query besides its topic: people, time, names that lead on (multi-hop).

Each test builds a small dated conversation (with the hash embedder, so only the rule under test
decides) and checks the stage does its job; the last one runs the real MiniLM.
"""

import datetime as dt

from smolnb import Memory
from smolnb.harness.scorers import score
from smolnb.memory import HashEmbedder
from smolnb.memory.recall import Recalled, mentions, read_cues

DAY = 86_400.0
START = dt.datetime(2024, 1, 1).timestamp()


def conversation(tmp_path, turns, embedder=None):
    """turns: (day, speaker, text); stored as 'Speaker: text' said on that day."""
    memory = Memory(
        graph=f"networkx://{tmp_path}/kg.json",
        vectors=f"lancedb://{tmp_path}/v",
        embedder=embedder or HashEmbedder(4096),
        extract=True,
    )
    memory.remember_many(
        [f"{who}: {text}" for _, who, text in turns],
        source="chat",
        provenance=[{"speaker": who, "time": START + day * DAY} for day, who, _ in turns],
    )
    return memory


def texts(found):
    return [item.text for item in found]


def test_mentions_are_names_mid_sentence_or_already_known():
    assert mentions("I met someone nice at the pottery class, Lena, we got coffee.") == ["Lena"]
    assert mentions("Lena plays the cello.") == []  # a sentence's first word is not a name by itself...
    assert mentions("Lena plays the cello.", known=["Lena"]) == ["Lena"]  # ...unless known
    assert mentions("Turns out Lena plays the cello.") == ["Lena"]  # an opening word everyone uses is passed over
    assert mentions("Maya's brother Tom moved to New Orleans. I'll visit.") == ["Tom", "New Orleans"]


def test_cues_name_people_recency_and_an_anchor():
    cues = read_cues("What did Maya cook the week after she ran a half marathon?", {"Maya", "Jon"})
    assert cues.people == ["Maya"] and "Maya" not in cues.content
    assert (cues.direction, cues.anchor, cues.window_days) == ("after", "she ran a half marathon", 7.0)
    assert cues.topic == "What did Maya cook"
    assert read_cues("Which city does Jon live in now?", {"Maya", "Jon"}).recency
    assert not read_cues("Which city did Jon visit?", {"Maya", "Jon"}).recency


def test_now_finds_the_latest_of_facts_that_changed(tmp_path):
    memory = conversation(
        tmp_path,
        [
            (0, "Maya", "I live in Denver city."),
            (90, "Maya", "I live in Boise city."),
            (40, "Maya", "I live in Austin city."),
            (91, "Jon", "Good luck with the boxes!"),
        ],  # fmt: skip
    )
    found = memory.recall("Which city does Maya live in now?", k=3, min_relevance=0)
    assert [t.split(" in ")[1] for t in texts(found)] == ["Boise city.", "Austin city.", "Denver city."]
    memory.stages = memory.stages - {"time"}
    found = memory.recall("Which city does Maya live in now?", k=3, min_relevance=0)
    assert len({round(i.score, 6) for i in found}) == 1  # the same words: without time, nothing tells them apart


def test_the_week_after_an_event_looks_near_its_date(tmp_path):
    turns = [(d, "Maya", f"Tried a new recipe this week: {dish}.") for d, dish in ((5, "paella"), (30, "ramen"), (60, "gnocchi"))]
    turns += [(24, "Maya", "I ran my first half marathon yesterday!"), (50, "Maya", "I got a tattoo of a fern.")]
    memory = conversation(tmp_path, turns)
    for event, dish in (("ran a half marathon", "ramen"), ("got a tattoo", "gnocchi")):
        found = memory.recall(f"What did Maya cook the week after she {event}?", k=5, min_relevance=0)
        recipes = [t for t in texts(found) if "recipe" in t]
        assert dish in recipes[0] and len(recipes) == 3, texts(found)  # the dish after the event comes first


def test_a_name_in_a_hit_leads_to_the_other_turns_about_it(tmp_path):
    memory = conversation(
        tmp_path,
        [
            (1, "Maya", "I met someone really nice at the pottery class, Lena, we got coffee."),
            (30, "Maya", "Turns out Lena plays the cello in a string quartet."),
            *[(2 + i, "Jon", f"Work was busy again, meeting number {i}.") for i in range(30)],
        ],  # fmt: skip
    )
    query = "What does the person Maya met at the pottery class do?"
    found = memory.recall(query, k=3, min_relevance=0)
    assert any("cello" in t for t in texts(found)), texts(found)
    assert "graph: Lena (from a hit)" in next(i.via for i in found if "cello" in i.text)


def test_asking_about_the_wrong_person_finds_the_turn_and_says_so(tmp_path):
    memory = conversation(
        tmp_path,
        [
            (3, "Maya", "We repainted the kitchen last weekend, it is pale sage green now."),
            *[(4 + i, "Jon", f"Jon thinks the weather was grey on day {i}.") for i in range(20)],
        ],  # fmt: skip
    )
    found = memory.recall("What colour is Jon's kitchen?", k=5, min_relevance=0)
    assert isinstance(found, Recalled) and "kitchen" in found[0].text  # Jon's name is not what is searched for
    assert "nothing said by or about Jon" in found.notice and "Maya" in found.notice
    asked_right = memory.recall("What colour is Maya's kitchen?", k=5, min_relevance=0)
    assert "kitchen" in asked_right[0].text and asked_right.notice == ""
    tool = next(t for t in memory.tools() if t.name == "search_memory")
    assert "nothing said by or about Jon" in tool(query="What colour is Jon's kitchen?")[-1]


def test_nothing_relevant_is_said(tmp_path):
    memory = conversation(tmp_path, [(1, "Maya", "We repainted the kitchen.")])
    found = memory.recall("quantum chromodynamics lattice", k=5)
    assert found == [] and "nothing relevant" in found.notice


def test_a_confident_answer_to_an_unanswerable_question_is_wrong():
    assert not score("unanswerable", "pale sage green", None).correct
    assert not score("unanswerable", 42, None).correct
    for abstains in ("I don't know.", "There is no information about Jon's kitchen.", "Not mentioned in memory", None):
        assert score("unanswerable", abstains, None).correct, abstains


def test_adding_to_a_busy_entity_does_not_walk_all_its_facts(tmp_path):
    from smolnb.memory.graph import NetworkxGraph

    graph = NetworkxGraph(tmp_path / "kg.json")
    graph.add_facts([("Lisbon", "MENTIONED_IN", f"item:{i}", {}) for i in range(3000)])
    assert graph.degree("Lisbon") == 3000 and graph.degree("nobody") == 0
    again = graph.add_fact("Lisbon", "MENTIONED_IN", "item:7")  # the same fact: found by its two ends
    assert [f.id for f in graph.facts(object="item:7")] == [again.id]


def test_real_minilm_recall_on_a_dated_conversation(tmp_path, minilm):
    memory = conversation(
        tmp_path,
        [
            (0, "Maya", "Being a nurse is tiring but I love the people I work with."),
            (2, "Jon", "My sister Ruth is visiting next week, I can't wait."),
            (9, "Maya", "We adopted a beagle last weekend and named him Biscuit!"),
            (40, "Jon", "Ruth finally found a place in Boise, a tiny flat near the river."),
            (60, "Maya", "I accepted an offer, I'll be working as a librarian from next month."),
            (61, "Maya", "Biscuit chewed through another charging cable, unbelievable."),
            *[
                (d, "Jon" if d % 2 else "Maya", line)
                for d, line in enumerate(
                    [
                        "Work is fine, just the usual meetings.",
                        "Pets are the best, aren't they?",
                        "I need a vacation so badly.",
                        "Traffic on the way home was a nightmare.",
                        "My job keeps me on my toes, that's for sure.",
                    ]
                    * 4,
                    start=10,
                )
            ],
        ],  # fmt: skip
        embedder=minilm,
    )
    jobs = texts(memory.recall("What is Maya's current job?", k=10, min_relevance=0))
    assert [t for t in jobs if "librarian" in t or "nurse" in t][0].endswith("from next month.")  # the newer job first
    assert any("Ruth" in t and "Boise" in t for t in texts(memory.recall("Which city did Jon's sister find a flat in?", k=3)))
    found = memory.recall("What kind of animal chewed through Maya's charging cable?", k=3, min_relevance=0)
    assert any("beagle" in t for t in texts(found)), texts(found)
    wrong = memory.recall("What is the name of Jon's dog?", k=5, min_relevance=0)
    assert "Biscuit" in wrong[0].text and "nothing said by or about Jon" in wrong.notice
