"""Run an agent against the scripted server until killed (used by test_crash.py)."""

import sys

from smolnb import CodeAgent
from smolnb.models import OpenAIAPIModel
from smolnb.persistence import RunStore

if __name__ == "__main__":
    base_url, store_path = sys.argv[1], sys.argv[2]
    model = OpenAIAPIModel("scripted", api_base=base_url, api_key="sk-crash-test", max_retries=0)
    CodeAgent(model=model, store=RunStore(store_path), max_steps=8).run("Count to four, then give the sum of 0..4.")
