"""Build the `data_wrangling` and `memory_facts` suites; every target is computed by code.

    python datasets/build_suites.py

writes `data_wrangling.jsonl` and `memory_facts.jsonl` and prints their SHA-256 for the
datacards (`data_wrangling.md`, `memory_facts.md`). Fixed seeds: the files are reproducible.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent


def _tables(rng: random.Random) -> dict[str, list[dict]]:
    regions, products = ["North", "South", "East", "West"], ["widget", "gadget", "gizmo", "doohickey"]
    sales = [{"region": rng.choice(regions), "product": rng.choice(products), "units": rng.randint(1, 40),
              "price": round(rng.uniform(2, 30), 2)} for _ in range(24)]  # fmt: skip
    teams = ["search", "infra", "vision", "speech"]
    staff = [{"name": f"{rng.choice(['Ana', 'Ben', 'Cleo', 'Dev', 'Eli', 'Fay', 'Gus', 'Hal'])} {chr(65 + i)}.",
              "team": rng.choice(teams), "years": rng.randint(0, 15), "salary": rng.randrange(50, 160) * 1000} for i in range(16)]  # fmt: skip
    cities = ["Oslo", "Lima", "Pune", "Kyiv"]
    weather = [{"city": c, "day": d, "temp_c": round(rng.uniform(-5, 35), 1), "rain_mm": round(max(0.0, rng.gauss(2, 4)), 1)}
               for c in cities for d in range(1, 6)]  # fmt: skip
    return {"sales": sales, "staff": staff, "weather": weather}


def data_wrangling() -> list[dict]:
    rng = random.Random(11)
    t = _tables(rng)
    sales, staff, weather = t["sales"], t["staff"], t["weather"]
    out: list[dict] = []

    def add(variables: list[str], text: str, target, scorer: str = "exact", **meta) -> None:
        described = "; ".join(f"`{v}` (a list of dicts with keys {', '.join(t[v][0])})" for v in variables)
        out.append({"id": f"wrangle-{len(out) + 1:03d}", "input": f"The variable {described} is already defined. {text}",
                    "target": target, "scorer": scorer, "metadata": {"tables": variables, **meta},
                    "setup": {"variables": {v: t[v] for v in variables}}})  # fmt: skip

    revenue = defaultdict(float)
    for r in sales:
        revenue[r["region"]] += r["units"] * r["price"]
    for region in ["North", "South", "East", "West"]:
        add(["sales"], f"What is the total revenue (units times price) of region {region}? Round to 2 decimals.", round(revenue[region], 2), "numeric")
    units = Counter()
    for r in sales:
        units[r["product"]] += r["units"]
    add(["sales"], "Which product sold the most units in total? Answer with its name.", units.most_common(1)[0][0])
    add(["sales"], "How many rows of sales have more than 20 units?", sum(r["units"] > 20 for r in sales), "numeric")
    add(["sales"], "What is the highest price in sales?", max(r["price"] for r in sales), "numeric")
    add(["sales"], "Which region has the highest total revenue? Answer with its name.", max(revenue, key=revenue.get))
    add(["sales"], "What is the average number of units per row? Round to 2 decimals.", round(sum(r["units"] for r in sales) / len(sales), 2), "numeric")
    add(["sales"], "List the distinct products sold in region North, as a list of names.", sorted({r["product"] for r in sales if r["region"] == "North"}), "set")
    by_team = defaultdict(list)
    for r in staff:
        by_team[r["team"]].append(r)
    for team in sorted(by_team):
        add(["staff"], f"What is the mean salary of team {team}? Round to the nearest whole number.", round(sum(r["salary"] for r in by_team[team]) / len(by_team[team])), "numeric")
        add(["staff"], f"How many people in team {team} have at least 5 years?", sum(r["years"] >= 5 for r in by_team[team]), "numeric")
    add(["staff"], "Who has the most years? Answer with the name.", max(staff, key=lambda r: (r["years"], r["name"]))["name"])
    add(["staff"], "Which team has the most people? Answer with the team name.", Counter(r["team"] for r in staff).most_common(1)[0][0])
    add(["staff"], "What is the total of all salaries?", sum(r["salary"] for r in staff), "numeric")
    salaries = sorted(r["salary"] for r in staff)  # 16 people: the median is the mean of the middle two
    add(["staff"], "What is the median salary?", (salaries[7] + salaries[8]) / 2, "numeric")
    for city in ["Oslo", "Lima", "Pune", "Kyiv"]:
        rows = [r for r in weather if r["city"] == city]
        add(["weather"], f"What is the mean temperature in {city} over the days given? Round to 1 decimal.", round(sum(r["temp_c"] for r in rows) / len(rows), 1), "numeric")
    rain = defaultdict(float)
    for r in weather:
        rain[r["city"]] += r["rain_mm"]
    add(["weather"], "Which city had the most rain in total? Answer with its name.", max(rain, key=rain.get))
    add(["weather"], "On how many city-days was the temperature below 0?", sum(r["temp_c"] < 0 for r in weather), "numeric")
    hottest = max(weather, key=lambda r: r["temp_c"])
    add(["weather"], "Which city had the single hottest day? Answer with its name.", hottest["city"])
    add(["weather"], "What is the total rain over all cities and days? Round to 1 decimal.", round(sum(rain.values()), 1), "numeric")
    add(["sales", "staff"], "How many rows do sales and staff have together?", len(sales) + len(staff), "numeric")
    return out


def memory_facts() -> list[dict]:
    rng = random.Random(23)
    people = ["Priya Raman", "Tomas Novak", "Amara Okafor", "Kenji Sato", "Lena Berg", "Mateo Alvarez", "Sofia Rossi", "Ravi Iyer"]
    cities = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Bergen", "Turin", "Pune", "Aarhus"]
    projects = ["Kestrel", "Osprey", "Heron", "Plover", "Merlin", "Avocet", "Bittern", "Curlew", "Dunlin", "Egret"]
    out: list[dict] = []
    for i in range(30):
        project = projects[i % len(projects)]
        lead, other = rng.sample(people, 2)
        city = rng.choice(cities)
        budget = rng.randrange(10, 90) * 1000
        notes = [f"Project {project} is led by {lead}.", f"{lead} works from the {city} office.",
                 f"The budget of project {project} is {budget} euros.", f"{other} reviewed the {project} design doc."]  # fmt: skip
        facts = [[project, "LED_BY", lead], [lead, "WORKS_IN", city], [project, "HAS_BUDGET", str(budget)]]
        kind = i % 3
        if kind == 0:
            text, target, scorer = f"Which office does the lead of project {project} work from? Use what you remember.", city, "exact"
        elif kind == 1:
            text, target, scorer = f"What is the budget of project {project} in euros? Use what you remember.", budget, "numeric"
        else:
            text, target, scorer = f"Who leads project {project}? Use what you remember.", lead, "exact"
        out.append({"id": f"memory-{i + 1:03d}", "input": text, "target": target, "scorer": scorer,
                    "metadata": {"kind": ["two-hop", "lookup", "lookup"][kind]},
                    "setup": {"memory": {"notes": notes, "facts": facts}}})  # fmt: skip
    return out


def main() -> None:
    for name, rows in (("data_wrangling", data_wrangling()), ("memory_facts", memory_facts())):
        data = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
        (HERE / f"{name}.jsonl").write_bytes(data)
        print(f"{name}.jsonl: {len(rows)} tasks, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
