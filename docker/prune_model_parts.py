"""Delete package-shipped model parts once they are assembled into the models folder (image size).

A model split across data packages (an ``ai_pipeline.models.MANIFEST`` entry with ``dest``) exists twice
after ``avatar models``: as parts inside site-packages and as the assembled file. The CPU image keeps
only the assembled, sha256-verified file (about 1.2 GB less); ``avatar models`` and ``/api/health`` still
verify it through its sha256 stamp. Refuses to delete anything unless every such model verifies.

    python docker/prune_model_parts.py [--dry-run]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from ai_pipeline.models import MANIFEST, ModelFile, verify
from ai_pipeline.settings import Settings


def _sources(model: ModelFile) -> list[Path]:
    try:
        return model.sources()
    except FileNotFoundError:
        return []


def prune(models: Iterable[ModelFile], models_dir: Path, *, dry_run: bool = False) -> list[tuple[Path, int]]:
    """Remove the part files of assembled models; returns (path, bytes) of what was (or would be) removed."""
    models = list(models)
    assembled = [m for m in models if m.dest]
    in_place = {path for m in models if not m.dest for path in _sources(m)}  # used where they lie: kept
    unverified = [m.name for m in assembled if not verify(m, models_dir)]
    if unverified:
        raise RuntimeError(f"not assembled or sha256 mismatch in {models_dir}: {', '.join(unverified)}")
    removed = []
    for model in assembled:
        for part in model.sources():
            if part.is_file() and part not in in_place:
                removed.append((part, part.stat().st_size))
                if not dry_run:
                    part.unlink()
    return removed


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv
    removed = prune(MANIFEST, Settings().models_dir, dry_run=dry_run)
    total = sum(size for _, size in removed)
    verb = "would remove" if dry_run else "removed"
    print(f"{verb} {len(removed)} model part files, {total / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
