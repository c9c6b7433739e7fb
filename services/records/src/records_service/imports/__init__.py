"""Importing incidents from other systems' files (profiles, cleaning rules, batched storage)."""

# Rows per transaction, shared by the CLI, the admin API and the service (kept here, in a module
# without imports, so the CLI can show it without loading the database stack).
DEFAULT_BATCH_SIZE = 25_000
