"""The run store: every run and its events in SQLite under `SMOLNB_HOME`.

Events are buffered and written in one transaction at the end of each step and of each model
call, so a crash loses at most the call in flight. The schema evolves through named, ordered
migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._retry import Backoff, retry
from ..config import count_setting, home
from ..errors import BackendError, UserError, did_you_mean
from ..events import Event, ModelCall, RunEnd, RunStart, Step, ToolCall, event_from_dict
from ..redact import redact, storable

__all__ = ["RunRecord", "RunStore", "default_store"]

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_runs_and_events",
        """
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            task TEXT NOT NULL,
            agent TEXT NOT NULL,
            agent_type TEXT NOT NULL,
            model TEXT NOT NULL,
            tools TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'running',
            output TEXT,
            error TEXT,
            parent_run_id TEXT,
            steps INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            duration REAL
        );
        CREATE TABLE events (
            run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            step INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        );
        CREATE INDEX runs_created ON runs(created DESC);
        """,
    ),
    ("002_runs_pid", "ALTER TABLE runs ADD COLUMN pid INTEGER;"),
]


CHECKPOINT_EVERY = 1000  # commits between WAL checkpoints, run on a thread (SQLite's own: every ~1,000 pages, in the commit)


def _json(value: Any) -> str:
    """JSON for a row, with secrets redacted (API keys never reach the database).

    As text SQLite can hold: a lone surrogate (code that printed one) becomes U+FFFD.
    """
    return storable(redact(json.dumps(value, default=repr, ensure_ascii=False)))


@dataclass
class RunRecord:
    """A stored run, as `smolnb.runs()` lists it."""

    run_id: str
    task: str
    agent: str
    model: str
    status: str
    output: str | None
    error: str | None
    steps: int
    input_tokens: int
    output_tokens: int
    created: float
    duration: float | None
    parent_run_id: str | None

    def __repr__(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        return f"<run {self.run_id} {self.status} {when} {self.model} {self.task[:40]!r}>"


class RunStore:
    """SQLite run store. `store.listener` is what an agent calls with each event."""

    def __init__(self, path: str | Path | None = None, *, keep: int | None = None) -> None:
        self.path = Path(path) if path else home() / "runs.db"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pending: dict[str, list[Event]] = {}
        self._seq: dict[str, int] = {}
        # run id -> (seq, messages) of its last model call written: the next one is stored as
        # what it adds to those (a run's history is sent again at every step).
        self._sent: dict[str, tuple[int, list[Any]]] = {}
        self._commits = 0
        self._checkpoint = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._migrate()
        # What earlier processes left in the WAL goes into the database now, off any hot path.
        self._connect().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        # Retention: the store keeps the newest `keep` runs (SMOLNB_KEEP_RUNS, default 10,000).
        self.keep = keep if keep is not None else count_setting("SMOLNB_KEEP_RUNS", "how many runs to keep") or 10_000
        if self.keep > 0:
            self.prune(keep=self.keep)

    # -- connection and schema ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                # Switching to WAL takes a lock that SQLite's busy handler does not wait for: retry.
                retry(
                    lambda: conn.execute("PRAGMA journal_mode=WAL"),
                    retry_if=lambda e: isinstance(e, sqlite3.OperationalError) and "locked" in str(e),
                    backoff=Backoff(0.02, factor=1.0),
                    within=30,
                )
                conn.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints (copying the WAL into the database, with fsyncs) run on a thread of
                # their own: left to a commit, one stalls the caller, often the event loop, ~20 ms.
                conn.execute("PRAGMA wal_autocheckpoint=0")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise BackendError(
                    f"the run store {self.path} cannot be opened ({exc}). Move the file aside to start a new "
                    "store; your earlier runs stay in the old file."
                ) from exc
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._connect()
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
            done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if name not in {row[0] for row in conn.execute("SELECT name FROM _migrations")}:
                        for statement in filter(str.strip, sql.split(";")):
                            conn.execute(statement)
                        conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            raise BackendError(
                f"the run store {self.path} is unreadable ({exc}). Move the file aside to start a new store; "
                "nothing in it was changed."
            ) from exc

    # -- writing ------------------------------------------------------------------------------

    def listener(self, event: Event) -> None:
        """Buffer `event`; write the buffer at the end of a model call, a step or the run."""
        with self._lock:
            self._pending.setdefault(event.run_id, []).append(event)
        if isinstance(event, RunStart | ModelCall | ToolCall | Step | RunEnd):
            self.flush(event.run_id)

    def flush(self, run_id: str) -> None:
        with self._lock:
            events = self._pending.pop(run_id, [])
        if not events:
            return
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            with self._lock:  # keep the events for the next flush: nothing is lost
                self._pending[run_id] = events + self._pending.get(run_id, [])
            raise BackendError(
                f"the run store {self.path} is locked by another process ({exc}); the events are kept and will be "
                "written at the next step. Close the other program holding the file, or set SMOLNB_HOME elsewhere."
            ) from exc
        try:
            self._write_all(conn, events)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self._sent.pop(run_id, None)  # the next model call is written whole
            raise
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._request_checkpoint()

    def _request_checkpoint(self) -> None:
        with self._lock:
            if self._checkpointer is None or not self._checkpointer.is_alive():
                self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="smolnb-store-checkpoint", daemon=True)
                self._checkpointer.start()
        self._checkpoint.set()

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            while self._checkpoint.wait(timeout=60):
                self._checkpoint.clear()
                try:  # PASSIVE: copies what it can without blocking writers or readers
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.DatabaseError:
                    pass  # the next request tries again; writers are never held up by this
        finally:
            conn.close()

    def _write_all(self, conn: sqlite3.Connection, events: list[Event]) -> None:
        """Write a batch: the run's row where it changes, and every event in one statement."""
        now = time.time()
        rows = []
        for event in events:
            if isinstance(event, RunStart):
                # A resumed run starts again under its old id: keep its row (and so its events).
                conn.execute(
                    "INSERT INTO runs (run_id, task, agent, agent_type, model, tools, status, parent_run_id, created, updated, pid)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)"
                    " ON CONFLICT(run_id) DO UPDATE SET status = 'running', model = excluded.model, tools = excluded.tools,"
                    " updated = excluded.updated, pid = excluded.pid, error = NULL",
                    (
                        event.run_id,
                        redact(event.task),
                        event.agent,
                        event.agent_type,
                        event.model,
                        _json(event.tools),
                        event.parent_run_id,
                        event.ts,
                        now,
                        os.getpid(),
                    ),
                )
            seq = self._seq.get(event.run_id)
            if seq is None:
                row = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM events WHERE run_id = ?", (event.run_id,)).fetchone()
                seq = int(row[0])
            self._seq[event.run_id] = seq = seq + 1
            data = event.to_dict()
            if isinstance(event, ModelCall):
                data = self._compact(event.run_id, seq, data)
            rows.append((event.run_id, seq, event.type, event.step, _json(data)))
        conn.executemany("INSERT INTO events (run_id, seq, type, step, data) VALUES (?, ?, ?, ?, ?)", rows)
        for event in events:
            if isinstance(event, Step):
                conn.execute(
                    "UPDATE runs SET steps = MAX(steps, ?), updated = ? WHERE run_id = ?", (event.step, now, event.run_id)
                )
            elif isinstance(event, RunEnd):
                conn.execute(
                    "UPDATE runs SET status = ?, output = ?, error = ?, input_tokens = ?, output_tokens = ?, duration = ?,"
                    " steps = ?, updated = ? WHERE run_id = ?",
                    (
                        event.status,
                        _json(event.output),
                        redact(event.error) if event.error else None,
                        event.usage.input_tokens,
                        event.usage.output_tokens,
                        event.duration,
                        event.steps,
                        now,
                        event.run_id,
                    ),
                )
                self._seq.pop(event.run_id, None)
                self._sent.pop(event.run_id, None)

    def _compact(self, run_id: str, seq: int, data: dict[str, Any]) -> dict[str, Any]:
        """A model call's messages as the ones it adds to the run's last call.

        `messages_base` is that call's seq, `messages_from` how many of its messages come first.
        """
        messages = data.get("messages") or []
        last = self._sent.get(run_id)
        self._sent[run_id] = (seq, messages)
        if last is None:
            return data
        base, before = last
        same = 0
        for mine, theirs in zip(messages, before, strict=False):
            if mine != theirs:
                break
            same += 1
        if same == 0:
            return data
        return {**data, "messages": messages[same:], "messages_base": base, "messages_from": same}

    # -- reading ------------------------------------------------------------------------------

    def runs(
        self, *, status: str | None = None, model: str | None = None, limit: int = 50, top_level: bool = True
    ) -> list[RunRecord]:
        """Stored runs, newest first."""
        query = (
            "SELECT run_id, task, agent, model, status, output, error, steps, input_tokens, output_tokens, created, duration,"
            " parent_run_id, pid FROM runs"
        )
        clauses: list[str] = []
        params: list[Any] = []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if model:
            clauses.append("model = ?")
            params.append(model)
        if top_level:
            clauses.append("parent_run_id IS NULL")
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY created DESC LIMIT ?"
        params.append(limit)
        return [self._alive(RunRecord(*row[:-1]), row[-1]) for row in self._connect().execute(query, params)]

    @staticmethod
    def _alive(record: RunRecord, pid: int | None) -> RunRecord:
        """A run still marked running whose process is gone is reported as crashed."""
        if record.status == "running" and pid and pid != os.getpid():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                record.status = "crashed"
            except PermissionError:
                pass
        return record

    def get(self, run_id: str) -> RunRecord:
        rows = [
            self._alive(RunRecord(*row[:-1]), row[-1])
            for row in self._connect().execute(
                "SELECT run_id, task, agent, model, status, output, error, steps, input_tokens, output_tokens, created, duration,"
                " parent_run_id, pid FROM runs WHERE run_id = ? OR run_id LIKE ?",
                (run_id, f"%{run_id}"),
            )
        ]
        if len(rows) != 1:
            recent = [r.run_id for r in self.runs(limit=20)]
            hint = did_you_mean(run_id, recent) if not rows else f" It matches {len(rows)} runs: give more of the id."
            raise UserError(f"no run {run_id!r} in {self.path}.{hint} `%agent runs` lists recent runs.")
        return rows[0]

    def events(self, run_id: str, *, with_children: bool = True) -> list[Event]:
        """The events of a run (and of the managed-agent runs it started), in order."""
        record = self.get(run_id)
        ids = [record.run_id]
        if with_children:
            frontier = [record.run_id]
            while frontier:
                marks = ",".join("?" * len(frontier))
                query = f"SELECT run_id FROM runs WHERE parent_run_id IN ({marks})"  # noqa: S608 - placeholders only
                frontier = [r[0] for r in self._connect().execute(query, frontier)]
                ids += frontier
        out: list[Event] = []
        for rid in ids:
            sent: dict[int, list[Any]] = {}  # seq -> the messages of a model call, whole
            for seq, text in self._connect().execute("SELECT seq, data FROM events WHERE run_id = ? ORDER BY seq", (rid,)):
                data = json.loads(text)
                if "messages_base" in data:
                    data["messages"] = sent[data.pop("messages_base")][: data.pop("messages_from")] + data["messages"]
                if data.get("type") == "model_call":
                    sent[seq] = data["messages"]
                out.append(event_from_dict(data))
        out.sort(key=lambda e: e.ts)
        return out

    def prune(self, *, keep: int | None = None, older_than_days: float | None = None) -> int:
        """Delete old runs: all but the newest `keep`, and/or those older than `older_than_days`.

        Returns how many top-level runs went.
        """
        doomed: set[str] = set()
        conn = self._connect()
        if keep is not None:
            doomed |= {
                r[0]
                for r in conn.execute(
                    "SELECT run_id FROM runs WHERE parent_run_id IS NULL ORDER BY created DESC LIMIT -1 OFFSET ?", (keep,)
                )
            }
        if older_than_days is not None:
            cutoff = time.time() - older_than_days * 86400
            doomed |= {
                r[0] for r in conn.execute("SELECT run_id FROM runs WHERE parent_run_id IS NULL AND created < ?", (cutoff,))
            }
        for run_id in doomed:
            self.delete(run_id)
        return len(doomed)

    def delete(self, run_id: str) -> None:
        """Delete a run, the runs it started, and their events."""
        record = self.get(run_id)
        ids, frontier = [record.run_id], [record.run_id]
        conn = self._connect()
        while frontier:
            marks = ",".join("?" * len(frontier))
            frontier = [r[0] for r in conn.execute(f"SELECT run_id FROM runs WHERE parent_run_id IN ({marks})", frontier)]  # noqa: S608
            ids += frontier
        marks = ",".join("?" * len(ids))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"DELETE FROM events WHERE run_id IN ({marks})", ids)  # noqa: S608
        conn.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", ids)  # noqa: S608
        conn.execute("COMMIT")


_default: RunStore | None = None
_default_path: Path | None = None


def default_store() -> RunStore:
    """The store under the current `SMOLNB_HOME` (re-opened when that changes)."""
    global _default, _default_path
    path = home() / "runs.db"
    if _default is None or _default_path != path:
        _default, _default_path = RunStore(path), path
    return _default


Listener = Callable[[Event], None]
