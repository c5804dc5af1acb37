"""callcore.store — persistence: call detail records (SQLite by default)."""

from callcore.store.cdr import CdrRecord, CdrStore, CdrWriter, SqliteCdrStore, leg_id

__all__ = ["CdrRecord", "CdrStore", "CdrWriter", "SqliteCdrStore", "leg_id"]
