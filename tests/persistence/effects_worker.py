"""A run whose code calls side-effecting tools and a managed agent, against the scripted
server, until killed (used by test_effects_crash.py and bench/state.py).

    python effects_worker.py BASE_URL STORE_PATH EFFECTS_DIR [resume RUN_ID]
"""

import os
import sys
import time
from pathlib import Path

from smolnb import CodeAgent, tool
from smolnb.models import OpenAIAPIModel
from smolnb.persistence import RunStore
from smolnb.tools import current_call_key

TASK = "Log a, ask the helper, mail b, then answer done."


def make_agent(base_url: str, store_path: str, effects_dir: str) -> CodeAgent:
    log_path = os.path.join(effects_dir, "log.txt")
    mail_path = os.path.join(effects_dir, "mail.txt")

    @tool(idempotent=True)
    def append_line(text: str) -> int:
        """Append a line to the log; a retried call with the same key changes nothing.

        Args:
            text: The line.
        """
        key = current_call_key()
        lines = Path(log_path).read_text().splitlines() if os.path.exists(log_path) else []
        if not any(line.endswith(f"|{key}") for line in lines):
            with open(log_path, "a") as f:
                f.write(f"{text}|{key}\n")
                f.flush()
                os.fsync(f.fileno())
            lines.append(text)
        time.sleep(0.05)  # the effect is done, its record not yet
        return len(lines)

    @tool
    def send_mail(text: str) -> str:
        """Send a mail (no idempotency key: at most once across a crash).

        Args:
            text: The body.
        """
        with open(mail_path, "a") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        time.sleep(0.05)
        return "sent"

    def model():
        return OpenAIAPIModel("scripted", api_base=base_url, api_key="sk-effects-test", max_retries=0)

    helper = CodeAgent(model=model(), name="helper", description="Says hi.", store=RunStore(store_path), max_steps=3)
    return CodeAgent(
        model=model(), tools=[append_line, send_mail], managed_agents=[helper], store=RunStore(store_path), max_steps=8
    )


if __name__ == "__main__":
    base_url, store_path, effects_dir = sys.argv[1:4]
    agent = make_agent(base_url, store_path, effects_dir)
    if len(sys.argv) > 5 and sys.argv[4] == "resume":
        agent.resume_run(sys.argv[5])
    else:
        agent.run(TASK)
