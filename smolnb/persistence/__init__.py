"""Persistence: the run store."""

from .store import RunRecord, RunStore, default_store

__all__ = ["RunRecord", "RunStore", "default_store"]
