"""Enrolled voices on disk: create, add samples, register trained versions, look up, delete.

The layout is described in :mod:`ai_pipeline.voice.base`. Every version is assembled in a hidden
temporary folder and renamed into place; ``voice.json`` is written to a temporary file and renamed
over the old one. A per-voice ``flock`` serialises the few steps that pick a version number and
update ``voice.json``, so two processes adding samples at once both get a version, neither loses
the other's utterances, and a reader never sees a half-written version. Earlier versions are never
modified; unchanged files are hard-linked from the previous version (copied where links fail).

Uploads are given as bytes or as paths of files already on disk (the API streams them into
:meth:`VoiceStore.upload_folder`). Temporary folders and files that a crash left behind (staging
folders, upload folders, half-deleted voices, a voice whose first version never got its
``voice.json``) are removed by :meth:`VoiceStore.sweep` once they are older than a few minutes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ai_pipeline.asr.vad import SileroVAD
from ai_pipeline.errors import InputError, InputTooLarge
from ai_pipeline.media.audio_io import write_wav
from ai_pipeline.settings import LimitSettings
from ai_pipeline.voice.base import MIN_SECONDS, PREPARED_RATE, Voice, VoiceReport
from ai_pipeline.voice.enroll import Enroller, FileAnalysis

MAX_NAME_CHARS = 60
SWEEP_AGE_S = 60 * 60.0  # leftovers younger than this may belong to a request still running
UPLOADS = ".uploads"  # under the root: one folder per upload request, removed when its job ends
_ID = re.compile(r"^[0-9a-f]{12}$")
_RESERVED = {"originals", "prepared", "report.json", "profile.json"}
Upload = tuple[str, bytes | Path]  # (file name as uploaded, its bytes or the path of a copy on disk)
Progress = Callable[[float, str], None]


class VoiceNotFound(InputError):
    code = "voice_not_found"
    http_status = 404


class VoiceRejected(InputError):
    """No uploaded file had usable speech; ``report`` says why for each file."""

    code = "voice_rejected"

    def __init__(self, message_ru: str, message_en: str, report: VoiceReport) -> None:
        super().__init__(message_ru, message_en)
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "report": self.report.to_dict()}


class VoiceStore:
    """Voices under ``root`` (``settings.voices_dir``). Blocking; call from a worker thread."""

    def __init__(self, root: Path, *, limits: LimitSettings | None = None, vad: SileroVAD | None = None,
                 enroller: Enroller | None = None) -> None:
        self.root = Path(root)
        self.limits = limits or LimitSettings()
        self.enroller = enroller or Enroller(vad)

    # -- enrolment --------------------------------------------------------------------------------

    def create(self, name: str, files: list[Upload], progress: Progress | None = None) -> tuple[Voice, VoiceReport]:
        """Enrol a new voice from uploaded files (version 1).

        Raises InputTooLarge for too many or too big files and :class:`VoiceRejected` when no file
        has usable speech (nothing is written then). A voice with less than ``MIN_SECONDS`` of
        speech is created; its report's level is ``not_enough`` and preparation refuses it.
        ``progress(fraction, message)`` is told as each file is analysed.
        """
        name = check_name(name)
        self.check_files(files)
        report, analyses = self.enroller.analyse_many(files, progress)
        _raise_if_unusable(report)
        voice_id = secrets.token_hex(6)
        folder = self.root / voice_id
        folder.mkdir(parents=True)
        try:
            with self._locked(voice_id), self._staging(voice_id) as staging:
                _write_samples(staging, files, analyses, first_original=1, first_utterance=1)
                _write_json(staging / "report.json", report.to_dict())
                record = {"id": voice_id, "name": name, "created": time.time(), "current_version": 0, "versions": []}
                voice = self._commit(record, staging, "enroll", report)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # no voice.json yet: nobody can see it
            raise
        return voice, report

    def add_samples(self, voice_id: str, files: list[Upload],
                    progress: Progress | None = None) -> tuple[Voice, VoiceReport]:
        """A new version with the previous version's utterances plus the usable ones of ``files``.

        The returned report covers the new version: earlier files' entries followed by the new
        ones. Raises :class:`VoiceRejected` (with the new files' report) when none is usable.
        """
        voice_id = self.get(voice_id).id
        self.check_files(files)
        new_report, analyses = self.enroller.analyse_many(files, progress)
        _raise_if_unusable(new_report)
        with self._locked(voice_id), self._staging(voice_id) as staging:
            record = self._record(voice_id)
            previous = self._voice(record)
            old = previous.report() or VoiceReport((), 0.0)
            report = VoiceReport(old.files + new_report.files, round(old.usable_s + new_report.usable_s, 2))
            _link_tree(previous.folder / "originals", staging / "originals")
            _link_tree(previous.folder / "prepared", staging / "prepared")
            _write_samples(staging, files, analyses,
                           first_original=len(list((staging / "originals").glob("*"))) + 1,
                           first_utterance=len(previous.prepared) + 1)
            _write_json(staging / "report.json", report.to_dict())
            voice = self._commit(record, staging, "samples", report)
        return voice, report

    def register_version(self, voice_id: str, source: str, files: dict[str, Path]) -> Voice:
        """A new version with the current prepared utterances and report plus ``files``
        (``{name in the version folder: existing file or folder}``), e.g. a fine-tuned model."""
        voice_id = self.get(voice_id).id
        for name in files:
            if name in _RESERVED or not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
                raise InputError("Недопустимое имя файла модели голоса.", f"Bad file name {name!r}", code="bad_request")
        with self._locked(voice_id), self._staging(voice_id) as staging:
            record = self._record(voice_id)
            previous = self._voice(record)
            _link_tree(previous.folder / "originals", staging / "originals")
            _link_tree(previous.folder / "prepared", staging / "prepared")
            for extra in ("report.json", "profile.json"):
                if (previous.folder / extra).is_file():
                    shutil.copy2(previous.folder / extra, staging / extra)
            for name, src in files.items():
                if Path(src).is_dir():
                    shutil.copytree(src, staging / name)
                else:
                    shutil.copy2(src, staging / name)
            report = previous.report() or VoiceReport((), 0.0)
            return self._commit(record, staging, source, report)

    def check_files(self, files: list[Upload]) -> None:
        """Refuse an empty request, too many files or too many megabytes (413)."""
        limits = self.limits
        if not files:
            raise InputError("Добавьте хотя бы один аудиофайл с речью.", "No files given.", code="no_files")
        if len(files) > limits.max_voice_files:
            raise InputTooLarge(f"Слишком много файлов: допускается не больше {limits.max_voice_files} за раз.",
                                f"{len(files)} files > {limits.max_voice_files}", code="too_many_files")
        total = sum(_size(data) for _, data in files)
        if total > limits.max_voice_mb * 1_000_000:
            raise InputTooLarge(f"Слишком большой объём записей: допускается не больше {limits.max_voice_mb:g} МБ.",
                                f"{total} bytes > {limits.max_voice_mb} MB", code="too_large")

    # -- lookup -----------------------------------------------------------------------------------

    def get(self, id_or_name: str) -> Voice:
        """The current version of a voice by id, or by name (the newest voice of that name)."""
        key = (id_or_name or "").strip()
        if _ID.match(key) and (self.root / key / "voice.json").is_file():
            return self._voice(self._record(key))
        matches = [r for r in self._records() if r["name"].casefold() == key.casefold()]
        if not matches:
            raise VoiceNotFound(f"Голос «{key}» не найден.", f"No voice {key!r}")
        return self._voice(max(matches, key=lambda r: r["created"]))

    def list(self) -> list[Voice]:
        """Current versions of all voices, newest first."""
        return [self._voice(r) for r in sorted(self._records(), key=lambda r: r["created"], reverse=True)]

    def info(self, voice_id: str) -> dict[str, Any]:
        """What the API and the wizard show about a voice (current version)."""
        voice = self.get(voice_id)
        record = self._record(voice.id)
        report = voice.report()
        similarity = voice.folder / "similarity.json"
        usable = report.usable_s if report else 0.0
        return {
            "id": voice.id, "name": voice.name, "created": record["created"],
            "current_version": voice.version, "versions": record["versions"],
            "report": report.to_dict() if report else None, "usable_s": round(usable, 2),
            "enough": usable >= MIN_SECONDS, "utterances": len(voice.prepared),
            "prepared": (voice.folder / "profile.json").is_file(),
            "similarity": json.loads(similarity.read_text()) if similarity.is_file() else None,
        }

    def delete(self, voice_id: str) -> None:
        """Remove a voice and all its versions."""
        voice_id = self.get(voice_id).id
        with self._locked(voice_id):
            trash = self.root / f".deleted-{voice_id}-{uuid.uuid4().hex[:6]}"
            os.rename(self.root / voice_id, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # -- temporary folders ------------------------------------------------------------------------

    def upload_folder(self) -> Path:
        """A new folder to stream one request's uploads into (the caller removes it when done)."""
        folder = self.root / UPLOADS / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return folder

    def sweep(self, max_age_s: float = SWEEP_AGE_S) -> list[Path]:
        """Remove what a crashed process left behind and is older than ``max_age_s``: staging
        folders and temporary files inside voices, upload folders, half-deleted voices, and voice
        folders without ``voice.json``. Returns what was removed."""
        if not self.root.is_dir():
            return []
        oldest = time.time() - max_age_s
        candidates = [*self.root.glob(".deleted-*"), *self.root.glob(f"{UPLOADS}/*"),
                      *self.root.glob("*/.tmp-*"), *self.root.glob("*/.*.tmp")]
        candidates += [p for p in self.root.iterdir()
                       if _ID.match(p.name) and p.is_dir() and not (p / "voice.json").exists()]
        stale = []
        for path in candidates:  # ages first: removing a leftover makes its parent folder young
            try:
                if path.lstat().st_mtime < oldest:
                    stale.append(path)
            except FileNotFoundError:
                continue
        removed = []
        for path in stale:
            if not os.path.lexists(path):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    # -- internals --------------------------------------------------------------------------------

    def _records(self) -> Iterator[dict[str, Any]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/voice.json"):
            try:
                yield json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # deleted or renamed while listing

    def _record(self, voice_id: str) -> dict[str, Any]:
        try:
            return json.loads((self.root / voice_id / "voice.json").read_text())
        except FileNotFoundError:
            raise VoiceNotFound(f"Голос «{voice_id}» не найден.", f"No voice {voice_id!r}") from None

    def _voice(self, record: dict[str, Any]) -> Voice:
        version = int(record["current_version"])
        return Voice(record["id"], record["name"], version, self.root / record["id"] / f"v{version}")

    @contextmanager
    def _staging(self, voice_id: str) -> Iterator[Path]:
        """A hidden folder to assemble a version in; removed unless :meth:`_commit` renamed it."""
        staging = self.root / voice_id / f".tmp-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, record: dict[str, Any], staging: Path, source: str, report: VoiceReport) -> Voice:
        """Rename ``staging`` to the next version and point ``voice.json`` at it (lock held)."""
        version = max([int(v["version"]) for v in record["versions"]] + [0]) + 1
        folder = self.root / record["id"] / f"v{version}"
        os.rename(staging, folder)
        record = {**record, "current_version": version,
                  "versions": [*record["versions"], {"version": version, "created": time.time(), "source": source,
                                                     "usable_s": round(report.usable_s, 2)}]}
        _write_json(self.root / record["id"] / "voice.json", record)
        return self._voice(record)

    @contextmanager
    def _locked(self, voice_id: str) -> Iterator[None]:
        folder = self.root / voice_id
        if not folder.is_dir():
            raise VoiceNotFound(f"Голос «{voice_id}» не найден.", f"No voice {voice_id!r}")
        with open(folder / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InputError(f"Имя голоса должно содержать от 1 до {MAX_NAME_CHARS} символов.",
                         f"Voice name must be 1-{MAX_NAME_CHARS} characters.", code="bad_name")
    return name


def safe_filename(name: str) -> str:
    """A file name without folders or odd characters (letters of any script are kept)."""
    base = re.sub(r"[^\w.-]+", "_", Path(name or "").name).strip("._") or "audio"
    return base[-80:]


def _raise_if_unusable(report: VoiceReport) -> None:
    if any(f.accepted for f in report.files):
        return
    reasons = "; ".join(f"{f.name}: {f.problems[0] if f.problems else 'нет речи'}" for f in report.files[:5])
    raise VoiceRejected(f"Ни один файл не подходит для голоса. {reasons}",
                        "No uploaded file contains usable speech.", report)


def _size(data: bytes | Path) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def _write_samples(staging: Path, files: list[Upload], analyses: list[FileAnalysis],
                   first_original: int, first_utterance: int) -> None:
    """Originals of accepted files and their utterances (PCM16 WAV) into a staging folder."""
    (staging / "originals").mkdir(exist_ok=True)
    (staging / "prepared").mkdir(exist_ok=True)
    k, u = first_original, first_utterance
    for (name, data), analysis in zip(files, analyses):
        if not analysis.quality.accepted:
            continue
        original = staging / "originals" / f"{k:03d}_{safe_filename(name)}"
        if isinstance(data, Path):
            _link_or_copy(data, original)
        else:
            original.write_bytes(data)
        k += 1
        for utterance in analysis.utterances:
            write_wav(staging / "prepared" / f"utt_{u:04d}.wav", utterance, PREPARED_RATE)
            u += 1


def _link_tree(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    if not src.is_dir():
        return
    for path in sorted(src.iterdir()):
        _link_or_copy(path, dst / path.name)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    os.replace(tmp, path)
