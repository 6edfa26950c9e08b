"""Uploaded files copied to disk in chunks, with the type, count and size limits checked as they go.

Nothing is held in memory but one chunk: a file is refused as soon as the total passes the limit,
and what was copied of it stays in the caller's folder (which the caller removes).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from fastapi import UploadFile

from ai_pipeline import workers
from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.voice.store import safe_filename

CHUNK = 1 << 20


def check_type(upload: UploadFile, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a content type that does not start with one of ``allowed`` (422 ``bad_type``)."""
    ctype = (upload.content_type or "application/octet-stream").lower()
    if not ctype.startswith(allowed):
        raise InputError(f"Неподходящий тип файла для поля «{what}»: {ctype}.", f"Bad content type for {what}: {ctype}",
                         code="bad_type")


async def save_uploads(files: list[UploadFile], folder: Path, *, max_files: int, max_mb: float,
                       allowed: tuple[str, ...]) -> list[tuple[str, Path]]:
    """Copy ``files`` into ``folder``; returns ``(name as uploaded, path)`` in order.

    Raises InputTooLarge ``too_many_files`` or ``too_large`` (all files together over ``max_mb``),
    and InputError ``bad_type`` or ``empty_file``.
    """
    if len(files) > max_files:
        raise InputTooLarge(f"Слишком много файлов: допускается не больше {max_files} за раз.",
                            f"{len(files)} files > {max_files}", code="too_many_files")
    left = int(max_mb * 1_000_000)
    saved: list[tuple[str, Path]] = []
    for n, upload in enumerate(files, 1):
        name = upload.filename or f"file{n}"
        check_type(upload, allowed, name)
        path = folder / f"{n:03d}_{safe_filename(name)}"
        written = await workers.run("io", copy_limited, upload.file, path, left)
        if written > left:
            raise InputTooLarge(f"Слишком большой объём записей: допускается не больше {max_mb:g} МБ за раз.",
                                f"uploads exceed {max_mb} MB", code="too_large")
        if written == 0:
            raise InputError(f"Файл «{name}» пуст.", f"{name} is empty", code="empty_file")
        left -= written
        saved.append((name, path))
    return saved


def copy_limited(source: BinaryIO, target: Path, limit: int) -> int:
    """Copy ``source`` to ``target`` chunk by chunk; stops once more than ``limit`` bytes were
    read. Returns the bytes read (``limit + 1`` or a little more when the file is too big)."""
    total = 0
    with open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            total += len(chunk)
            if total > limit:
                break
            out.write(chunk)
    return total
