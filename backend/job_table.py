"""The job table: one SQLite file beside the results it describes (``<folder>/jobs.sqlite3``).

Why a separate SQLite file and not a table in the project's database: a job's result is a file in
this folder, so the rows and the files live and go together (deleting the folder resets both; the
orphan sweep compares one folder with one table), the project database may be a server shared by
several machines while the results are local files, and a ``JobStore`` needs nothing but a folder
(tests, the CLI). Each row keeps a job's public JSON; the few columns beside it serve the queries.

Blocking; one connection shared by threads under a lock (call it from the ``io`` worker pool).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    data TEXT NOT NULL
)
"""


class JobTable:
    """Rows of jobs: ``save`` inserts or replaces one, ``load`` returns all, ``delete`` drops some."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def load(self) -> list[dict[str, Any]]:
        """Every job's data, oldest first (rows that do not parse are skipped)."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM jobs ORDER BY created").fetchall()
        out = []
        for (data,) in rows:
            try:
                out.append(json.loads(data))
            except ValueError:
                continue
        return out

    def save(self, data: dict[str, Any]) -> None:
        row = (data["id"], data["kind"], data["status"], data["created"], json.dumps(data, ensure_ascii=False))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO jobs (id, kind, status, created, data) VALUES (?, ?, ?, ?, ?)",
                             row)

    def delete(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        with self._lock:
            self._db.executemany("DELETE FROM jobs WHERE id = ?", [(job_id,) for job_id in job_ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()
