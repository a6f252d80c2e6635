"""Build the long-conversation recall benchmark: dated chats between two friends, and questions about them.

    python datasets/build_conversations.py

writes `conversations/turns.jsonl` (id, conversation, session, date, speaker, text) and
`conversations/questions.jsonl` (id, conversation, kind, question, answer, evidence) and prints
their SHA-256 for `conversations/README.md`. Everything comes from a fixed seed; the evidence turn
ids are known by construction, not labelled by hand.

The shape follows the public long-conversation benchmarks: each conversation is 24 sessions over
about ten months, facts change over time (people move and change jobs), events are told with
relative dates ("last Saturday") and referred back to later, and most turns are chat that shares
words with the facts without holding them. The five kinds of question:

- single-hop: one turn holds the answer;
- multi-hop: the answer joins turns from different sessions (whom she met, then what that person does);
- temporal: when something happened, what came the week after an event, what is true *now*;
- open-domain: what the person would like or is like, from what they said in other words;
- adversarial: asks about the wrong person (the other friend did it); no answer exists, and the
  evidence is the turn a reader could confuse it with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "conversations"

PAIRS = [("Maya", "Jon"), ("Priya", "Sam"), ("Elena", "Marcus"), ("Aiko", "Daniel"), ("Zoe", "Tariq")]
CITIES = ["Denver", "Austin", "Portland", "Chicago", "Boston", "Seattle", "Atlanta", "Phoenix", "Raleigh", "Madison",
          "Tucson", "Omaha", "Boise", "Richmond", "Savannah"]  # fmt: skip
JOBS = ["a nurse", "a data analyst", "a high school teacher", "a pastry chef", "a civil engineer", "a librarian",
        "a graphic designer", "a physiotherapist", "an accountant", "a park ranger", "a pharmacist", "a journalist"]  # fmt: skip
PETS = [("beagle", "dog"), ("tabby", "cat"), ("parrot", "bird"), ("labrador", "dog"), ("rabbit", "rabbit"),
        ("corgi", "dog"), ("Siamese", "cat"), ("tortoise", "tortoise")]  # fmt: skip
PET_NAMES = ["Biscuit", "Pepper", "Mango", "Juniper", "Waffles", "Clementine", "Noodle", "Pickles", "Sprout", "Toffee"]
FRIENDS = ["Lena", "Omar", "Greta", "Felipe", "Nora", "Idris", "Bianca", "Theo", "Wren", "Mateo", "Ines", "Caleb",
           "Rosa", "Hugo", "Yusuf", "Clara", "Dmitri", "Leila", "Soren", "Amelie"]  # fmt: skip
CLASSES = ["pottery class", "climbing gym", "book club", "salsa class", "community garden", "chess club",
           "volunteer shift at the food bank", "improv workshop"]  # fmt: skip
TRAITS = [  # (what they do, what that person is like, the question, the answer)
    ("plays the cello in a string quartet", "instrument", "What instrument does {f} play?", "the cello"),
    ("works night shifts as an air traffic controller", "job", "What does {f} do for a living?", "air traffic controller"),
    ("grew up on a sheep farm in New Zealand", "origin", "Where did {f} grow up?", "a sheep farm in New Zealand"),
    ("is training to become a beekeeper", "training", "What is {f} training to become?", "a beekeeper"),
    ("builds wooden canoes in the garage", "craft", "What does {f} build?", "wooden canoes"),
    ("speaks five languages, Finnish among them", "languages", "How many languages does {f} speak?", "five"),
    ("restores old motorcycles on weekends", "hobby", "What does {f} restore?", "old motorcycles"),
    ("once cycled across Mongolia", "feat", "What did {f} once cycle across?", "Mongolia"),
]  # fmt: skip
EVENTS = [  # (what happened, asked as, told as, a question on a detail, its answer)
    ("ran a half marathon", "run a half marathon", "I ran my first half marathon {when}, finished in just under two hours!",
     "How long did {p} take to finish the half marathon?", "just under two hours"),
    ("went to a Mitski concert", "go to the Mitski concert", "I went to the Mitski concert {when}, the whole crowd was singing along.",
     "What was the crowd doing at the concert {p} went to?", "singing along"),
    ("had wisdom teeth removed", "have wisdom teeth removed", "I had my wisdom teeth pulled {when}, my face is still swollen.",
     "Why was {p}'s face swollen?", "wisdom teeth pulled"),
    ("repainted the kitchen", "repaint the kitchen", "We repainted the kitchen {when}, it's a pale sage green now.",
     "What colour is {p}'s kitchen?", "pale sage green"),
    ("went camping by the lake", "go camping by the lake", "We went camping by the lake {when} and saw a moose at dawn.",
     "What animal did {p} see while camping?", "a moose"),
    ("baked a wedding cake", "bake a wedding cake", "I baked a three-tier wedding cake for my cousin {when}.",
     "Whose wedding cake did {p} bake?", "a cousin's"),
    ("started guitar lessons", "start guitar lessons", "I bought a secondhand guitar {when} and started lessons.",
     "Was {p}'s guitar new?", "no, secondhand"),
    ("took a niece to the aquarium", "take a niece to the aquarium", "I took my niece to the aquarium {when}, she loved the jellyfish.",
     "What did {p}'s niece love at the aquarium?", "the jellyfish"),
    ("hosted a board game night", "host a board game night", "I hosted a board game night {when}, we played until 2 am.",
     "Until what time did {p}'s board game night go on?", "2 am"),
    ("volunteered at a beach cleanup", "volunteer at a beach cleanup", "I volunteered at a beach cleanup {when}, we filled forty bags.",
     "How many bags did the beach cleanup fill?", "forty"),
    ("got a tattoo", "get a tattoo", "I got a tattoo of a fern on my forearm {when}.", "What is {p}'s tattoo of?", "a fern"),
    ("went to a pottery sale", "go to a pottery sale", "I went to a pottery sale {when} and came home with six mugs.",
     "How many mugs did {p} buy at the pottery sale?", "six"),
]  # fmt: skip
SIBLINGS = ["Tom", "Ruth", "Kofi", "Mira", "Abe", "Jess", "Nils", "Tara", "Olek", "Fern"]
TASTES = [  # (said in one session, said in another, the open-domain question, the answer)
    ("I spent the whole Sunday on a trail up the ridge, best day in weeks.",
     "Honestly nothing beats sleeping in a tent under the stars.",
     "Would {p} enjoy a weekend backpacking trip?", "yes, she loves hiking and camping"),
    ("I've been reading every Agatha Christie novel in order.",
     "I stayed up till 3 finishing a whodunit, couldn't put it down.",
     "What kind of books would make a good gift for {p}?", "mystery novels"),
    ("Crowds drain me, I left the party after twenty minutes.",
     "My ideal Friday is a quiet night in with tea and a puzzle.",
     "Would {p} rather go to a big festival or a quiet dinner?", "a quiet dinner"),
    ("I've cut out meat completely since spring.",
     "I found an amazing lentil curry recipe, tastes better than the beef one.",
     "Would a steakhouse be a good place to take {p} for dinner?", "no, she no longer eats meat"),
    ("Every morning starts with twenty minutes of yoga on the balcony.",
     "My back has never felt better since I started stretching daily.",
     "Does {p} have a regular exercise habit?", "yes, daily morning yoga"),
    ("I've started sketching the people on the train every commute.",
     "I signed up for a watercolour course, I want to get better at painting.",
     "Is {p} interested in art?", "yes, she sketches and paints"),
]  # fmt: skip
FILLER = [
    "Hey! How has your week been?", "Pretty busy, work has been a lot lately.", "Same here, I barely had time to breathe.",
    "That sounds exhausting, I hope you get some rest this weekend.", "Ha, that's so like you.", "Oh no, that's rough.",
    "I'm so happy for you!", "That's amazing, congrats!", "How did it go?", "Tell me more!",
    "The weather has been awful, rain every single day.", "It finally got warm here, I spent the afternoon outside.",
    "I've been trying to cook more at home instead of ordering in.", "My neighbour's dog barked all night again.",
    "I need a vacation so badly.", "Work is fine, just the usual meetings.", "I've been sleeping badly this week.",
    "We should catch up in person soon.", "Did you watch the game on Sunday?", "I started a new show, it's really good.",
    "My sister called, the family is doing well.", "I went for a short run this morning, just around the block.",
    "Traffic on the way home was a nightmare.", "I cleaned the whole apartment, it feels so good.",
    "I'm thinking about taking a class of some kind.", "My friends dragged me to a new cafe downtown.",
    "The city is so expensive these days.", "I've been meaning to call my parents more.", "That's hilarious.",
    "I'm proud of you, really.", "Let's talk more next week, I have to run.", "Good luck, you've got this!",
    "Honestly I just want a quiet weekend.", "My job keeps me on my toes, that's for sure.", "Pets are the best, aren't they?",
    "I had the weirdest dream last night.", "I finally fixed the leaky tap in the bathroom.", "Coffee is the only thing keeping me going.",
    "I've been listening to a lot of podcasts on my commute.", "Moving is always so stressful.",
]  # fmt: skip


def build(seed: int = 19) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)  # noqa: S311 - data, not secrets
    turns: list[dict] = []
    questions: list[dict] = []
    for number, (a, b) in enumerate(PAIRS, start=1):
        conversation(rng, number, (a, b), turns, questions)
    return turns, questions


def conversation(rng: random.Random, number: int, pair: tuple[str, str], turns: list[dict], questions: list[dict]) -> None:
    conv = f"c{number}"
    sessions = 24
    start = dt.date(2023, 1, 2) + dt.timedelta(days=rng.randrange(0, 60))
    dates = [start]
    for _ in range(sessions - 1):
        dates.append(dates[-1] + dt.timedelta(days=rng.randrange(7, 16)))
    plan: dict[int, list[tuple[str, str, str | None]]] = {s: [] for s in range(sessions)}  # (speaker, text, key)
    gold: dict[str, str] = {}  # key -> turn id, filled as turns are written
    asks: list[tuple[str, str, str, list[str]]] = []  # (kind, question, answer, evidence keys)

    def say(session: int, speaker: str, text: str, key: str | None = None) -> None:
        plan[session].append((speaker, text, key))

    cities, jobs, pets, friends = CITIES[:], JOBS[:], PETS[:], FRIENDS[:]
    for items in (cities, jobs, pets, friends):
        rng.shuffle(items)
    events, tastes, classes = rng.sample(EVENTS, 10), rng.sample(TASTES, 6), rng.sample(CLASSES, 6)
    for who_index, who in enumerate(pair):
        other = pair[1 - who_index]
        # Where they live: two moves; "now" is the last one.
        home, moved1, moved2 = cities.pop(), cities.pop(), cities.pop()
        s0, s1, s2 = 0, rng.randrange(5, 11), rng.randrange(14, 21)
        say(s0, who, f"I still can't believe I've lived in {home} for six years now.", f"{who}:home")
        say(s1, who, f"Big news: I signed a lease and I'm moving to {moved1} at the end of the month!", f"{who}:move1")
        say(s2, who, f"We're packing boxes again, the new job means moving to {moved2}.", f"{who}:move2")
        asks.append(("temporal", f"Which city does {who} live in now?", moved2, [f"{who}:move2"]))
        asks.append(("temporal", f"Where did {who} live before moving to {moved2}?", moved1, [f"{who}:move1"]))
        # Work: a job, then a new one.
        job1, job2 = jobs.pop(), jobs.pop()
        j1, j2 = rng.randrange(0, 4), s2 - 1
        say(j1, who, f"Being {job1} is tiring but I love the people I work with.", f"{who}:job1")
        say(j2, who, f"I accepted an offer, I'll be working as {job2} from next month.", f"{who}:job2")
        asks.append(("temporal", f"What is {who}'s current job?", job2, [f"{who}:job2"]))
        asks.append(("single-hop", f"What did {who} do for work at the start of the year?", job1, [f"{who}:job1"]))
        # A pet for the first of the pair only: the other is asked about it (adversarial).
        if who_index == 0:
            breed, species = pets.pop()
            name = rng.choice(PET_NAMES)
            s = rng.randrange(1, 6)
            say(
                s,
                who,
                f"We adopted a {breed} last weekend and named {'him' if rng.random() < 0.5 else 'her'} {name}!",
                f"{who}:pet",
            )
            say(
                rng.randrange(s + 2, sessions), who, f"{name} chewed through another charging cable, unbelievable.", f"{who}:pet2"
            )
            asks.append(("single-hop", f"What is the name of {who}'s {species}?", name, [f"{who}:pet"]))
            asks.append(("adversarial", f"What is the name of {other}'s {species}?", "", [f"{who}:pet"]))
            asks.append(
                ("multi-hop", f"What kind of animal chewed through {who}'s charging cable?", breed, [f"{who}:pet", f"{who}:pet2"])
            )
        # Friends met somewhere, and what they turn out to do, sessions later (multi-hop).
        for n in range(3):
            friend, place = friends.pop(), classes[3 * who_index + n]
            trait = TRAITS[(3 * who_index + n + number) % len(TRAITS)]
            s = rng.randrange(1, 14)
            later = rng.randrange(s + 3, sessions)
            say(s, who, f"I met someone really nice at the {place}, {friend}, we got coffee afterwards.", f"{who}:friend{n}")
            say(later, who, f"Turns out {friend} {trait[0]}, I had no idea.", f"{who}:trait{n}")
            answer = trait[3]
            asks.append(("multi-hop", trait[2].replace("{f}", f"the person {who} met at the {place}"), answer,
                         [f"{who}:friend{n}", f"{who}:trait{n}"]))  # fmt: skip
            asks.append(("single-hop", f"Where did {who} meet {friend}?", f"at the {place}", [f"{who}:friend{n}"]))
            asks.append(("adversarial", f"Where did {other} meet {friend}?", "", [f"{who}:friend{n}"]))
        # Events told with relative dates: when, a detail, what came the week after, the wrong person.
        for n in range(5):
            event = events[5 * who_index + n]
            s = 1 + 4 * n + rng.randrange(0, 3)
            days, told = rng.choice([(1, "yesterday"), (2, "two days ago"), (rng.randrange(3, 7), "last weekend")])
            when = dates[s] - dt.timedelta(days=days)
            say(s, who, event[2].format(when=told), f"{who}:event{n}")
            asks.append(("temporal", f"When did {who} {event[1]}?", when.isoformat(), [f"{who}:event{n}"]))
            asks.append(("single-hop", event[3].format(p=who), event[4], [f"{who}:event{n}"]))
            asks.append(("adversarial", event[3].format(p=other), "", [f"{who}:event{n}"]))
            dish = rng.choice(
                ["shakshuka", "ramen from scratch", "paella", "banana bread", "dumplings", "gnocchi", "pho", "tamales"]
            )
            say(s + 1, who, f"Tried a new recipe this week: {dish}.", f"{who}:after{n}")
            asks.append(("temporal", f"What did {who} cook the week after {'she' if who_index == 0 else 'he'} {event[0]}?", dish,
                         [f"{who}:after{n}"]))  # fmt: skip
        # A sibling, named once, whose move is told later without saying who they are to the speaker.
        sibling, where = SIBLINGS[(2 * number + who_index) % len(SIBLINGS)], cities.pop()
        s = rng.randrange(0, 10)
        say(
            s,
            who,
            f"My {'brother' if sibling in ('Tom', 'Kofi', 'Abe', 'Nils', 'Olek') else 'sister'} {sibling} is visiting next week, I can't wait.",
            f"{who}:sibling",
        )
        say(
            rng.randrange(s + 2, sessions),
            who,
            f"{sibling} finally found a place in {where}, a tiny flat near the river.",
            f"{who}:sibling2",
        )
        asks.append(("single-hop", f"What is the name of {who}'s sibling?", sibling, [f"{who}:sibling"]))
        asks.append(
            ("multi-hop", f"Which city did {who}'s sibling find a flat in?", where, [f"{who}:sibling", f"{who}:sibling2"])
        )
        asks.append(("adversarial", f"What is the name of {other}'s sibling?", "", [f"{who}:sibling"]))
        # Tastes said two ways in two sessions (open-domain); the question uses neither's words.
        for n in range(3):
            taste = tastes[3 * who_index + n]
            s1, s2 = rng.sample(range(sessions), 2)
            say(s1, who, taste[0], f"{who}:taste{n}a")
            say(s2, who, taste[1], f"{who}:taste{n}b")
            asks.append(("open-domain", taste[2].format(p=who), taste[3], [f"{who}:taste{n}a", f"{who}:taste{n}b"]))
            asks.append(("adversarial", taste[2].format(p=other), "", [f"{who}:taste{n}a"]))
    # Write the sessions: planned turns among chat, alternating speakers.
    for s in range(sessions):
        lines = plan[s][:]
        rng.shuffle(lines)
        chat = rng.sample(FILLER, 14 - min(len(lines), 8))
        merged: list[tuple[str, str, str | None]] = []
        for line in chat:
            merged.append((pair[len(merged) % 2], line, None))
            if lines and rng.random() < 0.55:
                merged.append(lines.pop())
        merged.extend(lines)
        for t, (speaker, text, key) in enumerate(merged):
            turn_id = f"{conv}:s{s + 1:02d}:t{t + 1:02d}"
            turns.append(
                {
                    "id": turn_id,
                    "conversation": conv,
                    "session": s + 1,
                    "date": dates[s].isoformat(),
                    "speaker": speaker,
                    "text": text,
                }  # fmt: skip
            )
            if key:
                gold[key] = turn_id
    for kind, question, answer, keys in asks:
        questions.append(
            {
                "id": f"{conv}:q{len([q for q in questions if q['conversation'] == conv]) + 1:03d}",
                "conversation": conv,
                "kind": kind,
                "question": question,
                "answer": answer,
                "evidence": [gold[k] for k in keys],
            }  # fmt: skip
        )


def main() -> None:
    turns, questions = build()
    OUT.mkdir(exist_ok=True)
    for name, rows in (("turns.jsonl", turns), ("questions.jsonl", questions)):
        path = OUT / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        print(f"{name}: {len(rows)} rows, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    per_conv = {c: sum(t["conversation"] == c for t in turns) for c in sorted({t["conversation"] for t in turns})}
    print("questions by kind:", kinds, "turns by conversation:", per_conv)


if __name__ == "__main__":
    main()
