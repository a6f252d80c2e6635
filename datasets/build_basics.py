"""Build `basics.jsonl`: small tasks a code agent should solve, each target computed by code.

Run `python datasets/build_basics.py` to regenerate; the file and its checksum in
`basics.md` must then be committed together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import statistics
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def tasks() -> list[dict]:
    out: list[dict] = []

    def add(category: str, text: str, target, scorer: str = "exact", **metadata) -> None:
        out.append({"id": f"basics-{len(out) + 1:03d}", "input": text, "target": target, "scorer": scorer,
                    "metadata": {"category": category, **metadata}})  # fmt: skip

    # arithmetic
    add("arithmetic", "What is 347 * 29 + 1158?", 347 * 29 + 1158, "numeric")
    add("arithmetic", "What is the sum of all integers from 1 to 250?", sum(range(1, 251)), "numeric")
    add("arithmetic", "What is 2 to the power of 31, minus 1?", 2**31 - 1, "numeric")
    add("arithmetic", "What is the remainder when 98765 is divided by 97?", 98765 % 97, "numeric")
    add("arithmetic", "What is the square root of 7921?", math.isqrt(7921), "numeric")
    add("arithmetic", "What is 15 factorial divided by 13 factorial?", math.factorial(15) // math.factorial(13), "numeric")
    # strings
    word = "Mississippi"
    add("strings", f"How many times does the letter 's' appear in the word '{word}'?", word.lower().count("s"), "numeric")
    add("strings", "Reverse the string 'smolnb agents' and give the result.", "smolnb agents"[::-1])
    add("strings", "How many vowels (a, e, i, o, u) are in the sentence 'The quick brown fox jumps over the lazy dog'?",
        sum(c in "aeiou" for c in "The quick brown fox jumps over the lazy dog".lower()), "numeric")  # fmt: skip
    add("strings", "Convert 'hello world from python' to title case.", "hello world from python".title())
    sentence = "red green blue green red green"
    add("strings", f"In the text '{sentence}', which word occurs most often?", Counter(sentence.split()).most_common(1)[0][0])
    add("strings", "How many characters long is the string 'Jupyter notebooks are great' (count spaces too)?",
        len("Jupyter notebooks are great"), "numeric")  # fmt: skip
    # dates
    add("dates", "How many days are there from 2024-01-15 to 2024-03-01?", (dt.date(2024, 3, 1) - dt.date(2024, 1, 15)).days, "numeric")
    add("dates", "What day of the week was 2000-01-01? Answer with the English day name.", dt.date(2000, 1, 1).strftime("%A"))
    add("dates", "Is 2100 a leap year? Answer True or False.", str((2100 % 4 == 0 and 2100 % 100 != 0) or 2100 % 400 == 0))
    add("dates", "What date is 100 days after 2023-12-25? Answer in YYYY-MM-DD format.", str(dt.date(2023, 12, 25) + dt.timedelta(days=100)))
    add("dates", "How many days are in February 2024?", 29, "numeric")
    # small tables (given inline as lists of dicts)
    rows = [{"name": "ana", "dept": "eng", "salary": 120}, {"name": "bo", "dept": "ops", "salary": 90},
            {"name": "cy", "dept": "eng", "salary": 100}, {"name": "di", "dept": "ops", "salary": 70},
            {"name": "ed", "dept": "eng", "salary": 140}]  # fmt: skip
    table = json.dumps(rows)
    eng = [r["salary"] for r in rows if r["dept"] == "eng"]
    add("tables", f"Given the rows {table}, what is the average salary in the 'eng' department?", statistics.mean(eng), "numeric")
    add("tables", f"Given the rows {table}, what is the name of the person with the highest salary?", max(rows, key=lambda r: r["salary"])["name"])
    add("tables", f"Given the rows {table}, what is the total salary of the 'ops' department?",
        sum(r["salary"] for r in rows if r["dept"] == "ops"), "numeric")  # fmt: skip
    add("tables", f"Given the rows {table}, how many people earn more than 95?", sum(r["salary"] > 95 for r in rows), "numeric")
    prices = {"apple": 0.5, "bread": 2.25, "milk": 1.2}
    basket = {"apple": 6, "bread": 2, "milk": 3}
    add("tables", f"Prices are {json.dumps(prices)} and a basket holds {json.dumps(basket)}. What does the basket cost in total?",
        round(sum(prices[k] * v for k, v in basket.items()), 2), "numeric")  # fmt: skip
    # small algorithms
    add("algorithms", "How many prime numbers are there below 100?", sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, 100)), "numeric")
    fib = [0, 1]
    while len(fib) < 21:
        fib.append(fib[-1] + fib[-2])
    add("algorithms", "What is the 20th Fibonacci number, if F(0)=0 and F(1)=1?", fib[20], "numeric")
    add("algorithms", "What is the greatest common divisor of 462 and 1071?", math.gcd(462, 1071), "numeric")
    add("algorithms", "Sort the numbers 42, 7, 19, 3, 88, 25 in ascending order and give the middle two numbers' average.",
        statistics.median([42, 7, 19, 3, 88, 25]), "numeric")  # fmt: skip
    add("algorithms", "What is the sum of the digits of 2 to the power of 50?", sum(int(d) for d in str(2**50)), "numeric")
    add("algorithms", "Is 'racecar' a palindrome? Answer True or False.", str("racecar" == "racecar"[::-1]))
    add("algorithms", "How many numbers from 1 to 1000 are divisible by 7 but not by 5?",
        sum(1 for n in range(1, 1001) if n % 7 == 0 and n % 5 != 0), "numeric")  # fmt: skip
    # word problems
    add("word", "A train travels at 84 km/h for 2.5 hours. How many kilometres does it cover?", 84 * 2.5, "numeric")
    add("word", "Sam has 3 boxes of 24 pencils and gives away 17 pencils. How many pencils does Sam have left?", 3 * 24 - 17, "numeric")
    add("word", "A shirt costs 40 dollars and is discounted by 15 percent. What is the new price in dollars?", 40 * 0.85, "numeric")
    add("word", "If 5 workers build a wall in 12 days, how many days do 6 workers need at the same rate?", 5 * 12 / 6, "numeric")
    add("word", "A recipe needs 250 g of flour for 4 people. How many grams are needed for 10 people?", 250 / 4 * 10, "numeric")
    add("word", "Ann is 3 times as old as Ben. In 10 years she will be twice as old as him. How old is Ben now?",
        next(b for b in range(1, 100) if 3 * b + 10 == 2 * (b + 10)), "numeric")  # fmt: skip
    for task in out:
        if isinstance(task["target"], float) and task["target"].is_integer():
            task["target"] = int(task["target"])
        assert re.match(r"^basics-\d{3}$", task["id"])
    return out


def main() -> None:
    data = "".join(json.dumps(t, sort_keys=True) + "\n" for t in tasks())
    path = HERE / "basics.jsonl"
    path.write_text(data)
    print(f"{path}: {len(tasks())} tasks, sha256 {hashlib.sha256(data.encode()).hexdigest()}")


if __name__ == "__main__":
    main()
