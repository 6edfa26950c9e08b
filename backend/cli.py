"""The ``avatar`` command: render clips, prepare photos, assemble models, serve the API."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from ai_pipeline.assets import default_photo_path
from ai_pipeline.emotion.base import EMOTIONS
from ai_pipeline.errors import AvatarError, InputError
from ai_pipeline.settings import Settings
from backend.voice_cli import add_voice_parser

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _progress(fraction: float, message: str) -> None:
    bar = "#" * int(fraction * 30)
    print(f"\r[{bar:<30}] {fraction * 100:5.1f}% {message}", end="", file=sys.stderr, flush=True)
    if fraction >= 1.0:
        print(file=sys.stderr)


def _read_photo(arg: str | None, settings: Settings) -> bytes:
    path = Path(arg) if arg else default_photo_path(settings.avatars_dir)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"Не удалось открыть фото {path}: {exc.strerror}.", f"Cannot read photo {path}: {exc}",
                         code="bad_image") from exc


def cmd_render(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.request import RenderRequest
    from ai_pipeline.runner import Pipeline
    from ai_pipeline.voice.base import Voice
    from backend.tts_voices import check_tts_voice, standard_voice_name

    text = sys.stdin.read() if args.text == "-" else args.text
    audio_bytes = None
    if args.audio is not None:
        try:
            audio_bytes = Path(args.audio).read_bytes()
        except OSError as exc:
            raise InputError(f"Не удалось открыть аудио {args.audio}: {exc.strerror}.", str(exc),
                             code="bad_audio") from exc
    request = RenderRequest(text=text, audio=audio_bytes, voice=args.voice,  # text xor audio; voices with text
                            tts_voice=args.tts_voice, emotion=args.emotion)  # a bad emotion: InputError
    photo = _read_photo(args.photo, settings)
    pipeline = Pipeline(settings)
    started = time.perf_counter()
    request = pipeline.resolve(request)  # decoded, checked against the limits, the voice looked up
    voice = request.voice if isinstance(request.voice, Voice) else None
    pipeline.load(stages=("tts",))
    try:
        assert pipeline.tts is not None
        if request.tts_voice is not None:
            if check_tts_voice(pipeline.tts, request.tts_voice) is None:  # unknown: InputError listing the voices
                print(f"Внимание: у движка синтеза «{pipeline.tts.name}» нет голосов на выбор; "
                      f"--tts-voice {request.tts_voice} не используется.", file=sys.stderr)
                request = request.model_copy(update={"tts_voice": None})
        tts_voice = standard_voice_name(pipeline.tts.with_voice(request.tts_voice))
        pipeline.load(stages=("talking_head",))
        avatar = pipeline.avatar(photo)
        for warning in avatar.warnings:
            print(f"Внимание: {warning}", file=sys.stderr)
        if args.quality == "studio":  # the full SadTalker pipeline; refused in Russian without its weights
            from ai_pipeline.talking_head.sadtalker.studio_render import render_studio_request

            render = functools.partial(render_studio_request, pipeline)
        else:
            render = pipeline.render
        result = asyncio.run(render(avatar, request, progress=None if args.quiet else _progress))
    finally:
        pipeline.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(result.mp4)
    summary = {"out": str(args.out), "duration_s": round(result.duration, 3), "frames": result.frames,
               "avatar_id": result.avatar_id, "voice": voice.key if voice else None,
               "tts_voice": tts_voice,
               "wall_s": round(time.perf_counter() - started, 3),
               "timings": result.timings, "warnings": list(result.warnings)}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.runner import Pipeline

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"Не удалось открыть аудио {args.file}: {exc.strerror}.", str(exc), code="bad_audio") from exc
    pipeline = Pipeline(settings)
    pipeline.load(stages=("asr",))
    try:
        result = asyncio.run(pipeline.transcribe(data, language=args.language))
    finally:
        pipeline.close()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(result.text)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.runner import Pipeline
    from backend.conversation import Brain
    from backend.db import init_db
    from backend.db.seed import seed_default_persona

    text = sys.stdin.read() if args.text == "-" else args.text
    db = init_db(settings.db_url)
    pipeline = Pipeline(settings)
    try:
        pipeline.check_text(text)
        pipeline.load(stages=("llm", "emotion"))
        brain = Brain(db, pipeline.llm, pipeline.emotion, settings)
        asyncio.run(_chat(brain, db, args, text, seed_default_persona))
    finally:
        pipeline.close()
        db.close()
    return 0


async def _chat(brain, db, args: argparse.Namespace, text: str, seed) -> None:  # type: ignore[no-untyped-def]
    from ai_pipeline.timing import StageTimer
    from backend.db.conversations import list_sessions
    from backend.db.personas import list_personas

    await db.call(seed)
    personas = await db.call(list_personas)
    wanted = (args.persona or "").strip().lower()
    match = [p for p in personas if not wanted or p.name.lower() == wanted or str(p.id) == wanted]
    if not match:
        names = ", ".join(p.name for p in personas) or "—"
        raise InputError(f"Персонаж «{args.persona}» не найден. Есть: {names}.", f"No persona {args.persona!r}",
                         code="not_found")
    persona = match[0]
    sessions = [] if args.new_session else await db.call(list_sessions, persona.id)
    session_id = await brain.open_session(persona.id, sessions[0].id if sessions else None)
    timer = StageTimer()
    print(f"{persona.name}: ", end="", flush=True)
    async for chunk in brain.reply(persona.id, session_id, text, timer):
        print(chunk.text, end="", flush=True)
        if args.emotions:
            print(f" [{chunk.emotion}]", end="", flush=True)
    print()
    if args.timings:
        print(json.dumps({"session_id": session_id, **timer.as_dict()}), file=sys.stderr)


def cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline import registry

    head = registry.build("talking_head", settings.talking_head, settings.models_dir)
    avatar = head.prepare(_read_photo(args.photo, settings), cache_dir=settings.avatars_dir,
                          min_face_px=settings.limits.min_face_px,
                          max_pixels=int(settings.limits.max_image_megapixels * 1e6))
    for warning in avatar.warnings:
        print(f"Внимание: {warning}", file=sys.stderr)
    print(json.dumps({"avatar_id": avatar.id, "crop": str(settings.avatars_dir / avatar.id / "crop.png")}))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from backend.serve import serve

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    if host not in LOOPBACK and not settings.server.token:
        raise InputError("Для доступа не только с этого компьютера задайте токен: AVATAR_SERVER__TOKEN=...",
                         "Binding a non-loopback address requires AVATAR_SERVER__TOKEN.", code="token_required")
    bound = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host, "port": port})})
    serve(bound, host, port)  # the bound host is allowed; stops within server.shutdown_s of SIGTERM
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.models import main

    return main()


def cmd_models_list(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.llm.gguf_registry import choices

    current = getattr(settings.llm, "model", None) if settings.llm.engine == "llama_cpp" else None
    rows = [{**c.model_dump(), "selected": c.model == current} for c in choices(settings.models_dir)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        mark = "*" if row["selected"] else " "
        state = "" if row["present"] else "  [файла нет]"
        print(f"{mark} {row['name']:<24} {row['label_ru']}  n_ctx={row['n_ctx']}{state}")
    return 0


def cmd_models_add_llm(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.llm.gguf_registry import add

    print(f"Проверяем {args.file}: заголовок GGUF, шаблон диалога, загрузка и один ответ…", file=sys.stderr)
    entry = add(args.file, settings.models_dir, name=args.name, context=args.context)
    test = entry.self_test
    if args.json:
        print(json.dumps(entry.model_dump(), ensure_ascii=False, indent=2))
    else:
        print(f"Модель «{entry.name}» добавлена: {entry.architecture}, {entry.size_label}, {entry.quantization}, "
              f"контекст {entry.n_ctx} (у модели до {entry.context_length}), шаблон: "
              f"{'из файла' if entry.chat_template == 'gguf' else 'ChatML (в файле нет своего)'}.")
        if test is not None:
            print(f"Проверка: загрузка {test.load_s:.1f} с, первый токен {test.first_token_s:.1f} с, "
                  f"{test.tokens_per_s:.1f} токенов/с; ответ: «{test.reply}»")
        print(f"Выбрать её: avatar models use {json.dumps(entry.name, ensure_ascii=False)} "
              "(или в настройках веб-приложения).")
    if test is not None and not test.russian:
        print("Внимание: модель ответила не по-русски; для разговора она вряд ли подойдёт.", file=sys.stderr)
    return 0


def cmd_models_use(args: argparse.Namespace, settings: Settings) -> int:
    from ai_pipeline.llm.gguf_registry import find
    from backend.ui_settings import load_choices, save_choices

    choice = find(settings.models_dir, args.name)
    if not choice.present:
        raise InputError(f"Файла модели «{choice.name}» нет: {choice.model}", f"{choice.model} is missing",
                         code="bad_model")
    saved = load_choices(settings)
    options = {**saved.options, "llm": {**saved.options.get("llm", {}), "model": choice.model, "n_ctx": choice.n_ctx}}
    save_choices(settings, saved.model_copy(update={"engines": {**saved.engines, "llm": "llama_cpp"},
                                                    "options": options}))
    print(f"Языковая модель: {choice.label_ru}. Запущенный сервер подхватит её после перезапуска.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatar", description="Локальный говорящий аватар / local talking avatar")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="photo + text or audio -> MP4")
    r.add_argument("--photo", help="face photo (default: the built-in avatar)")
    r.add_argument("--text", help="Russian text to speak ('-' reads stdin)")
    r.add_argument("--audio", help="a recording to lip-sync instead of text")
    r.add_argument("--voice", help="speak in an enrolled voice (name or id; see `avatar voice list`)")
    r.add_argument("--tts-voice", help="the TTS engine's standard voice to speak (RHVoice: anna, irina, elena, "
                   "aleksandr, aleksandr-hq; an enrolled --voice is matched on top of it)")
    r.add_argument("--emotion", help="the face's emotion for the whole clip: " + ", ".join(EMOTIONS))
    r.add_argument("--quality", choices=("live", "studio"), default="live",
                   help="live: the conversation's engine; studio: full SadTalker (slow, offline, needs its weights)")
    r.add_argument("--out", required=True, help="output .mp4")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_render)
    t = sub.add_parser("transcribe", help="speech recording -> Russian text")
    t.add_argument("file")
    t.add_argument("--json", action="store_true", help="segments, timings and language as JSON")
    t.add_argument("--language", help="force a language (default from settings: ru; 'auto' detects)")
    t.set_defaults(func=cmd_transcribe)
    c = sub.add_parser("chat", help="one text turn with a persona; the reply streams as it is generated")
    c.add_argument("text", help="what you say ('-' reads stdin)")
    c.add_argument("--persona", help="persona name or id (default: the first one, Аня)")
    c.add_argument("--new-session", action="store_true", help="start a new conversation instead of continuing")
    c.add_argument("--emotions", action="store_true", help="show the emotion of each chunk")
    c.add_argument("--timings", action="store_true", help="stage timings as JSON on stderr")
    c.set_defaults(func=cmd_chat)
    p = sub.add_parser("prepare", help="analyse a photo once and cache the face")
    p.add_argument("--photo")
    p.set_defaults(func=cmd_prepare)
    s = sub.add_parser("serve", help="run the HTTP API")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_serve, configured=True)  # the server lays the web app's choices over it itself
    m = sub.add_parser("models", help="assemble and verify the shipped model files; local GGUF LLMs (add-llm, list, use)")
    m.set_defaults(func=cmd_models)
    models_sub = m.add_subparsers(dest="models_command")
    ml = models_sub.add_parser("list", help="the LLM models llama.cpp can run: the embedded one and those added")
    ml.add_argument("--json", action="store_true")
    ml.set_defaults(func=cmd_models_list)
    ma = models_sub.add_parser("add-llm", help="register a local GGUF chat model (checked and self-tested first)")
    ma.add_argument("file", help="path to a .gguf file (it stays where it is)")
    ma.add_argument("--name", help="name to select it by (default: the name in the file)")
    ma.add_argument("--context", type=int, help="context size in tokens (default: 4096 or the model's limit)")
    ma.add_argument("--json", action="store_true", help="the recorded entry as JSON")
    ma.set_defaults(func=cmd_models_add_llm)
    mu = models_sub.add_parser("use", help="make the llama.cpp engine run this model (name from `models list`)")
    mu.add_argument("name")
    mu.set_defaults(func=cmd_models_use)
    add_voice_parser(sub, _progress)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from backend.ui_settings import effective_settings

        settings = Settings()
        if not getattr(args, "configured", False):
            settings = effective_settings(settings)  # the web app's saved choices, as the server and workers use
        return args.func(args, settings)
    except AvatarError as exc:
        print(f"Ошибка: {exc.message_ru}\nError [{exc.code}]: {exc.message_en}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"Ошибка: файл не найден / file not found: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"Ошибка в настройках / invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
