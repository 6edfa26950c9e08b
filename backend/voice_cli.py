"""``avatar voice ...``: enrol, list, show, delete and prepare voices from the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_pipeline.errors import InputError
from ai_pipeline.settings import Settings
from ai_pipeline.voice.base import MIN_SECONDS, VoiceReport

LEVELS = {"not_enough": "недостаточно: добавьте ещё записей", "enough": "достаточно", "good": "хорошо"}
_COLUMNS = (("Файл", 28), ("Длит.,с", 9), ("Речь,с", 8), ("LUFS", 8), ("Пик,dBFS", 10), ("Клип.,%", 9),
            ("С/Ш,дБ", 8), ("Фраз", 6), ("Итог", 10))


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from ai_pipeline.voice.store import VoiceStore

    return VoiceStore(settings.voices_dir, limits=settings.limits)


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_report(report: VoiceReport) -> str:
    """The quality report as a plain-text Russian table with one line per file and the total."""
    lines = ["".join(title.rjust(width) if i else title.ljust(width) for i, (title, width) in enumerate(_COLUMNS))]
    for f in report.files:
        name = f.name if len(f.name) <= 27 else f.name[:12] + "…" + f.name[-14:]
        cells = (name, _num(f.duration_s), _num(f.usable_s), _num(f.loudness_lufs), _num(f.peak_dbfs),
                 _num(f.clipping_pct, 2), _num(f.snr_db), str(f.utterances), "принят" if f.accepted else "отклонён")
        lines.append("".join(c.rjust(w) if i else c.ljust(w) for i, (c, (_, w)) in enumerate(zip(cells, _COLUMNS))))
        lines.extend(f"    · {problem}" for problem in f.problems)
    lines.append(f"Итого пригодной речи: {report.usable_s:.1f} с (минимум {report.min_s:.0f} с, "
                 f"цель {report.target_s:.0f} с): {LEVELS[report.level]}.")
    return "\n".join(lines)


def _read(paths: list[str]) -> list[tuple[str, bytes]]:
    files = []
    for arg in paths:
        try:
            files.append((Path(arg).name, Path(arg).read_bytes()))
        except OSError as exc:
            raise InputError(f"Не удалось открыть файл {arg}: {exc.strerror}.", str(exc), code="bad_audio") from exc
    return files


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.voice.store import VoiceRejected

    store = _store(settings)
    try:
        voice, report = store.create(args.name, _read(args.files))
    except VoiceRejected as exc:
        if args.json:
            print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False, indent=1))
        else:
            print(format_report(exc.report))
        raise
    if args.json:
        print(json.dumps({"voice": store.info(voice.id), "report": report.to_dict()}, ensure_ascii=False, indent=1))
    else:
        print(f"Голос «{voice.name}» · id {voice.id} · версия {voice.version}")
        print(format_report(report))
        if not report.enough:
            print(f"Для подготовки голоса нужно не меньше {MIN_SECONDS:.0f} с речи: "
                  f"avatar voice add ещё раз или POST /api/voices/{voice.id}/samples.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    infos = [store.info(v.id) for v in store.list()]
    if args.json:
        print(json.dumps(infos, ensure_ascii=False, indent=1))
        return 0
    if not infos:
        print("Голосов пока нет: avatar voice add ИМЯ ФАЙЛ...")
    for info in infos:
        level = LEVELS[info["report"]["level"]] if info["report"] else "нет записей"
        print(f"{info['id']}  {info['name']:<24} v{info['current_version']:<3} {info['usable_s']:7.1f} с  "
              f"{level}{'  · подготовлен' if info['prepared'] else ''}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    info = store.info(args.voice)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=1))
        return 0
    print(f"Голос «{info['name']}» · id {info['id']} · версия {info['current_version']} из {len(info['versions'])}"
          f" · {'подготовлен' if info['prepared'] else 'не подготовлен'}")
    if info["report"]:
        print(format_report(VoiceReport.from_dict(info["report"])))
    if info["similarity"]:
        print(f"Сходство: {json.dumps(info['similarity'], ensure_ascii=False)}")
    return 0


def cmd_rm(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    voice = store.get(args.voice)
    store.delete(voice.id)
    print(f"Голос «{voice.name}» ({voice.id}) удалён.")
    return 0


def cmd_prepare(args: argparse.Namespace, settings: Settings, progress: Callable[[float, str], None]) -> int:
    from ai_pipeline.runner import Pipeline
    from ai_pipeline.voice.prepare import prepare_voice

    voice = _store(settings).get(args.voice)
    report = voice.report()
    usable = report.usable_s if report else 0.0
    if usable < MIN_SECONDS:
        raise InputError(f"Мало речи для голоса: {usable:.0f} с из нужных {MIN_SECONDS:.0f} с. Добавьте записи.",
                         f"{usable:.1f} s of speech < {MIN_SECONDS} s", code="not_enough_audio")
    pipeline = Pipeline(settings)
    pipeline.load(stages=("tts",))
    try:
        result: dict[str, Any] = prepare_voice(voice, pipeline.tts, progress)
    finally:
        pipeline.close()
    progress(1.0, "Готово")
    print(json.dumps({"voice": voice.id, "version": voice.version, "result": result}, ensure_ascii=False))
    return 0


def add_voice_parser(sub: argparse._SubParsersAction, progress: Callable[[float, str], None]) -> None:
    """Register ``avatar voice add|list|show|rm|prepare``."""
    v = sub.add_parser("voice", help="enrolled voices: add, list, show, rm, prepare")
    vs = v.add_subparsers(dest="voice_command", required=True)
    a = vs.add_parser("add", help="enrol a voice from recordings and print the quality report")
    a.add_argument("name", help="voice name (1-60 characters)")
    a.add_argument("files", nargs="+", help="recordings: wav/mp3/ogg/m4a/webm/flac")
    a.add_argument("--json", action="store_true", help="the report as JSON")
    a.set_defaults(func=cmd_add)
    li = vs.add_parser("list", help="all voices")
    li.add_argument("--json", action="store_true")
    li.set_defaults(func=cmd_list)
    s = vs.add_parser("show", help="one voice: versions and quality report")
    s.add_argument("voice", help="id or name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)
    r = vs.add_parser("rm", help="delete a voice with all its versions")
    r.add_argument("voice", help="id or name")
    r.set_defaults(func=cmd_rm)
    p = vs.add_parser("prepare", help="prepare a voice for synthesis (progress on stderr)")
    p.add_argument("voice", help="id or name")
    p.set_defaults(func=lambda args, settings: cmd_prepare(args, settings, progress))

