"""A run's stored variables as snapshots that hold what changed.

After each step the agent pickles the code's variables (`Executor.snapshot`). Storing them
whole at every step made a run's store grow with steps x variables; instead the first snapshot
is whole and each later one holds the variables whose pickle changed and names those no longer
kept. `whole_snapshot` folds a run's snapshots, in order, back into one.
"""

from __future__ import annotations

import base64
import pickle

from ..events import Snapshot
from ..executor.safe_pickle import loads

__all__ = ["changed_since", "whole_snapshot"]


def changed_since(stored: dict[str, int] | None, blob: bytes) -> tuple[bytes, list[str], bool, dict[str, int]]:
    """(the snapshot to store, the names removed, whether it is partial, the new `stored`).

    `stored` maps each name in the last snapshot written to the hash of its pickle (None: none
    written yet in this process, so this one is whole).
    """
    values: dict[str, bytes] = loads(blob)
    now = {name: hash(data) for name, data in values.items()}
    if stored is None:
        return blob, [], False, now
    changed = {name: data for name, data in values.items() if stored.get(name) != now[name]}
    removed = sorted(set(stored) - set(values))
    return pickle.dumps(changed, protocol=pickle.HIGHEST_PROTOCOL), removed, True, now


def whole_snapshot(snapshots: list[Snapshot]) -> Snapshot | None:
    """The variables after the last of a run's snapshots (given in order), as one whole snapshot."""
    if not snapshots:
        return None
    last = snapshots[-1]
    if not last.partial:
        return last
    values: dict[str, bytes] = {}
    for snap in snapshots:
        if not snap.partial:
            values = {}
        values.update(loads(base64.b64decode(snap.data)))
        for name in snap.removed:
            values.pop(name, None)
    blob = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
    return Snapshot(run_id=last.run_id, step=last.step, ts=last.ts, data=base64.b64encode(blob).decode(), missing=last.missing)
