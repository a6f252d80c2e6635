"""Agents sharing one Memory at the same time: every fact lands once, and no increment of a
counter is lost (networkx and a real Neo4j)."""

import re

import pytest

from smolnb import CodeAgent, Memory, run_many
from smolnb.memory import HashEmbedder
from smolnb.models import FunctionModel
from tests.helpers import py, task_message


@pytest.fixture(params=["networkx", "neo4j"])
def memory(request, tmp_path):
    graph = f"networkx://{tmp_path}/kg.json" if request.param == "networkx" else request.getfixturevalue("neo4j_uri")
    memory = Memory(graph=graph, vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.graph.forget()
    yield memory
    memory.close()


def _agent_code(messages, **info):
    task = task_message(messages)
    n = int(re.search(r"agent (\d+)", task).group(1))
    if "count" in task:
        return py("for _ in range(10):\n    increment_counter('experiments', 'RUN_COUNT')\nfinal_answer('counted')")
    return py(
        f"for i in range(50):\n    add_fact('agent{n}', 'FOUND', f'item{{i}}')\n"
        f"add_fact('shared', 'SEEN_BY', 'everyone')\nfinal_answer('stored')"
    )


@pytest.mark.timeout(600)
def test_64_agents_add_50_facts_each_and_16_count_without_losing_one(memory, smolnb_home):
    # The code blocks' clock is the whole test's budget: 64 blocks of 51 writes share two cores, and
    # on a busy machine one may wait minutes for its turn; what is tested is that no write is lost.
    agent = CodeAgent(
        model=FunctionModel(_agent_code, model_id="facts-fn"), memory=memory, max_steps=2, store=None, code_timeout=270
    )
    results = run_many(agent, [f"You are agent {n}: store your facts." for n in range(64)], concurrency=64, progress=False)
    assert [r.status for r in results] == ["success"] * 64
    facts = memory.graph.facts(predicate="FOUND")
    assert len(facts) == 64 * 50
    assert len({(f.subject, f.object) for f in facts}) == 64 * 50  # none duplicated
    assert len(memory.graph.facts(subject="shared")) == 1  # the same fact from 64 agents: stored once
    assert {f.provenance["run_id"] for f in facts} == {r.run_id for r in results}  # each fact knows its run

    results = run_many(agent, [f"You are agent {n}: count." for n in range(16)], concurrency=16, progress=False)
    assert [r.status for r in results] == ["success"] * 16
    [counter] = memory.graph.facts(subject="experiments", predicate="RUN_COUNT")
    assert counter.object == "160"  # 16 agents x 10 increments, none lost
    history = memory.graph.facts(subject="experiments", predicate="RUN_COUNT", include_past=True)
    assert len(history) == 160 and sorted(int(f.object) for f in history) == list(range(1, 161))


def test_increment_refuses_a_fact_that_is_not_a_number(memory):
    from smolnb.errors import UserError

    memory.graph.add_fact("lab", "LEADER", "Ada", functional=True)
    with pytest.raises(UserError, match="not a counter"):
        memory.increment("lab", "LEADER")
