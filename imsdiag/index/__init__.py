"""The embedded event index (stdlib sqlite3): parsed records per file, every id, the last scan's findings."""

# Tunables (BLOCK_RECORDS, SPOOL_BYTES, QUICK_CHECK_MAX_BYTES, ...) are not re-exported: set them on their own module.
from .ids import SERVER_LOCAL_KINDS, Origin, event_ids, link_allowed, norm_id
from .records import event_json
from .schema import APP_ID, SCHEMA_VERSION, default_index_path
from .store import EventIndex, open_index

__all__ = [
    "APP_ID",
    "SCHEMA_VERSION",
    "SERVER_LOCAL_KINDS",
    "EventIndex",
    "Origin",
    "default_index_path",
    "event_ids",
    "event_json",
    "link_allowed",
    "norm_id",
    "open_index",
]
