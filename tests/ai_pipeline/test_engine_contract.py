"""The engine contract: every engine of the catalogue (ai_pipeline/registry.py) through the same checks.

Structure, for every engine of every stage: the settings class beside the engine (frozen, unknown
options refused, ``engine`` literal = catalogue name), the ``(settings, models_dir)`` constructor of
the common base, metadata (label, heavy, fallback, VRAM), a cheap ``availability`` check, fallbacks
that exist in the same stage and are light, and the settings page listing it.

Behaviour, for the engines that run on this machine's CPU (the tables ``TTS_RUNS``, ``HEAD_RUNS``,
``ENHANCE_RUNS`` say how; an engine left out must be listed in ``NOT_RUN_HERE`` with the reason, so a
new engine cannot be skipped silently): TTS streams AudioChunks at its ``sample_rate`` with indices in
order; a talking head draws ``size`` x ``size`` frames at ``fps``, numbers frames continuously across
chunks (``first_frame``), idles as it renders silence and gives the enhancer each frame's landmarks; an enhancer keeps
the frames' shape and touches only the face region.

Plus: importing the catalogue and the settings imports no heavy library, and adding an engine is one
file and one catalogue line (``test_adding_an_engine_is_one_file_and_one_line``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from ai_pipeline import registry
from ai_pipeline.asr.base import ASREngine
from ai_pipeline.chunks import AudioChunk, FrameBatch
from ai_pipeline.emotion.base import EmotionEngine
from ai_pipeline.engine import Engine, EngineInfo, EngineSettings
from ai_pipeline.enhance.base import EnhanceEngine, NoEnhanceSettings
from ai_pipeline.llm.base import LLMEngine
from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.base import TalkingHeadEngine
from ai_pipeline.tts.base import TTSEngine

REPO = Path(__file__).resolve().parents[2]
STAGE_BASES: dict[str, type[Engine]] = {"asr": ASREngine, "llm": LLMEngine, "emotion": EmotionEngine,
                                        "tts": TTSEngine, "talking_head": TalkingHeadEngine, "enhance": EnhanceEngine}
ENGINES = [(stage, name) for stage in registry.stages() for name in registry.engine_names(stage)]
# Never imported by `import ai_pipeline.settings, ai_pipeline.registry` (engines import them in load()).
HEAVY_MODULES = ("torch", "ctranslate2", "faster_whisper", "llama_cpp", "transformers", "mediapipe", "TTS",
                 "scipy.signal", "whisper", "ncnn", "ollama")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def check_engine_class(stage: str, name: str, models_dir: Path) -> None:
    """Everything the catalogue relies on, for one engine (also run on a new engine from a tmp dir)."""
    cls = registry.engine_class(stage, name)
    assert issubclass(cls, STAGE_BASES.get(stage, Engine)) and issubclass(cls, Engine)
    assert cls.name == name

    # settings: beside the engine, frozen, strict, discriminated on the catalogue name
    settings_cls = cls.settings_class
    assert issubclass(settings_cls, EngineSettings)
    assert settings_cls.__module__ == cls.__module__, "the settings class lives beside its engine class"
    assert typing.get_args(settings_cls.model_fields["engine"].annotation) == (name,)
    assert settings_cls.model_config.get("frozen") is True and settings_cls.model_config.get("extra") == "forbid"
    defaults = settings_cls()
    assert defaults.engine == name
    assert isinstance(TypeAdapter(registry.settings_union(stage)).validate_python({"engine": name}), settings_cls)
    with pytest.raises(ValidationError):
        settings_cls(no_such_option=1)
    with pytest.raises(ValidationError):
        defaults.engine = "other"  # type: ignore[misc]

    # constructor: (settings, models_dir) through the common base, nothing loaded
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params[:2]] == ["settings", "models_dir"]
    assert all(p.default is None for p in params[:2])
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in params[2:])
    engine = registry.build(stage, defaults, models_dir)
    assert type(engine) is cls and engine.settings is defaults and engine.models_dir == models_dir
    assert isinstance(cls(), cls) and cls().settings == defaults  # settings None: the defaults

    # metadata
    info = cls.info
    assert isinstance(info, EngineInfo) and CYRILLIC.search(info.label_ru)
    assert isinstance(info.heavy, bool) and isinstance(info.vram_mb, int) and info.vram_mb >= 0
    assert registry.engine_info(stage, name) is info
    if info.fallback is not None:
        assert info.fallback in registry.engine_names(stage) and info.fallback != name
        assert registry.engine_class(stage, info.fallback).info.heavy is False, "a fallback must be light"
        assert registry.fallback_settings(stage, name) == registry.settings_class(stage, info.fallback)()
    else:
        assert registry.fallback_settings(stage, name) is None

    # availability: a classmethod, cheap, a Russian reason or None
    assert inspect.ismethod(cls.availability) and cls.availability.__self__ is cls
    started = time.perf_counter()
    reason = cls.availability(defaults, models_dir)
    assert time.perf_counter() - started < 1.0
    assert reason is None or (isinstance(reason, str) and CYRILLIC.search(reason)), reason


@pytest.mark.parametrize("stage, name", ENGINES, ids=[f"{s}-{n}" for s, n in ENGINES])
def test_engine_contract(stage, name, tmp_path):
    check_engine_class(stage, name, tmp_path)


def test_catalogue_shape():
    assert registry.stages() == ("asr", "llm", "emotion", "tts", "talking_head", "enhance")
    names = [name for stage in registry.stages() for name in registry.engine_table()[stage]]
    assert len(names) == len(set(names)), "engine names are unique across stages"
    for stage in registry.stages():
        off = registry.off_choice(stage)
        assert registry.engine_table()[stage] == [*([off] if off else []), *sorted(registry.engine_names(stage))]
        for name in registry.engine_names(stage):  # every fallback chain ends (no cycle)
            chain = [name]
            while (nxt := registry.engine_info(stage, chain[-1]).fallback) is not None:
                assert nxt not in chain
                chain.append(nxt)


def test_off_choice_is_settings_only():
    assert registry.OFF == {"enhance": "ai_pipeline.enhance.base:NoEnhanceSettings"}
    assert registry.off_choice("enhance") == "none" and registry.off_choice("tts") is None
    assert registry.build("enhance", NoEnhanceSettings()) is None
    assert registry.engine_info("enhance", "none").label_ru and registry.fallback_settings("enhance", "none") is None
    assert registry.default_engine("enhance") == "none" and registry.section_engine("enhance") == "realesrgan_ncnn"
    assert TypeAdapter(registry.settings_union("enhance")).validate_python({"engine": "none"}) == NoEnhanceSettings()


def test_build_refuses_what_is_not_that_engines_settings():
    from typing import Literal

    from ai_pipeline.tts.espeak import EspeakSettings

    class LookAlike(EngineSettings):  # says "espeak" but is not EspeakSettings
        engine: Literal["espeak"] = "espeak"

    with pytest.raises(KeyError, match="no engine 'espeak' in stage 'talking_head'"):
        registry.build("talking_head", EspeakSettings())
    with pytest.raises(TypeError, match="EspeakSettings"):
        registry.build("tts", LookAlike())


def test_settings_page_lists_every_engine_with_its_availability(tmp_path):
    from backend.ui_settings import ENGINE_INFO, STAGE_UNIONS, describe

    settings = Settings(data_dir=tmp_path, models_dir=tmp_path / "models")
    view = describe(settings)
    assert set(view) == {"engines", "available", "quality", "options"}
    assert set(STAGE_UNIONS) == set(view["available"]) == set(registry.stages())
    for stage, options in view["available"].items():
        assert [o["name"] for o in options] == registry.engine_table()[stage]
        for option in options:
            info = ENGINE_INFO[stage][option["name"]]
            assert option == {"name": option["name"], "label_ru": info.label_ru, "heavy": info.heavy,
                              "available": option["reason_ru"] is None, "reason_ru": option["reason_ru"]}
    assert "sadtalker" not in json.dumps(view)  # no stale entries: only what the catalogue has
    listed = {o["name"]: o for o in view["available"]["talking_head"]}
    assert listed["mesh_warp"]["available"] is True
    assert listed["wav2lip"]["available"] is False and "download_models.py" in listed["wav2lip"]["reason_ru"]


def test_engine_settings_are_imported_from_their_engine_module():
    """Engine settings are imported from their engine module (``ai_pipeline.settings`` has none)."""
    moved = {cls.__name__ for stage in registry.stages() for cls in registry.settings_classes(stage)}
    statement = re.compile(r"from ai_pipeline\.settings import \(?([^)\n]*(?:\n[^)\n]*)*?)\)?$", re.M)
    offenders = []
    for folder in ("ai_pipeline", "backend", "scripts", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            for match in statement.finditer(path.read_text(encoding="utf-8")):
                names = {n.strip().split(" as ")[0] for n in match.group(1).replace("\n", ",").split(",")}
                if names & moved:
                    offenders.append(f"{path.relative_to(REPO)}: {sorted(names & moved)}")
    assert offenders == []


# -- import weight -----------------------------------------------------------------------------


def test_importing_settings_and_catalogue_imports_no_heavy_library():
    """Every engine module is imported (the stage unions need their settings classes), none of the
    heavy libraries is; the settings page's availability checks do not import them either."""
    program = textwrap.dedent(f"""
        import json, sys, time
        started = time.perf_counter()
        import ai_pipeline.settings, ai_pipeline.registry
        seconds = time.perf_counter() - started
        engines = [p.split(":")[0] for stage in ai_pipeline.registry.CATALOGUE.values() for p in stage.values()]
        after_import = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
        from backend.ui_settings import describe
        describe(ai_pipeline.settings.Settings())
        after_describe = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
        print(json.dumps({{"seconds": seconds, "engines_imported": all(e in sys.modules for e in engines),
                           "heavy": after_import, "heavy_after_describe": after_describe}}))
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "AVATAR_CONFIG": ""}, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["engines_imported"] is True
    assert report["heavy"] == [] and report["heavy_after_describe"] == [], report
    print(f"import ai_pipeline.settings, ai_pipeline.registry: {report['seconds'] * 1000:.0f} ms")


# -- adding an engine ------------------------------------------------------------------------------

BEEP_ENGINE = '''
"""A tone instead of speech: the smallest TTS engine, written as any engine module is."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.engine import EngineInfo, EngineSettings
from ai_pipeline.tts.base import TTSEngine


class BeepSettings(EngineSettings):
    engine: Literal["beep"] = "beep"
    pitch_hz: float = Field(440.0, gt=0)


class BeepTTS(TTSEngine):
    name = "beep"
    settings_class = BeepSettings
    info = EngineInfo(label_ru="Писк (пример движка)", heavy=False, fallback="espeak", vram_mb=0)

    @classmethod
    def availability(cls, settings: BeepSettings, models_dir: Path) -> str | None:
        return None

    @property
    def sample_rate(self) -> int:
        return 16000

    def synthesize_sentence(self, text: str) -> AudioChunk:
        t = np.arange(int(0.02 * len(text) * 16000)) / 16000
        return AudioChunk((0.1 * np.sin(2 * np.pi * self.settings.pitch_hz * t)).astype(np.float32), 16000, text)
'''


def test_adding_an_engine_is_one_file_and_one_line(tmp_path):
    """A new engine module in a tmp dir plus one catalogue line: settings, env, table, settings page,
    fallback and build all know it, and it passes the same contract as the built-in engines."""
    (tmp_path / "beep_tts.py").write_text(BEEP_ENGINE)
    program = textwrap.dedent(f"""
        import asyncio, json
        from pathlib import Path
        from ai_pipeline import registry
        registry.CATALOGUE["tts"]["beep"] = "beep_tts:BeepTTS"  # the one line

        from pydantic import ValidationError
        from ai_pipeline.settings import Settings
        from ai_pipeline.tts.espeak import EspeakSettings
        from backend.ui_settings import describe
        from tests.ai_pipeline.test_engine_contract import check_engine_class, check_tts_stream

        settings = Settings(data_dir=Path({str(tmp_path)!r}), tts={{"engine": "beep", "pitch_hz": 300}})
        assert type(settings.tts).__name__ == "BeepSettings" and settings.tts.pitch_hz == 300
        try:
            Settings(tts={{"engine": "beep", "typo": 1}})
            raise SystemExit("a misspelt option was accepted")
        except ValidationError:
            pass
        check_engine_class("tts", "beep", Path({str(tmp_path)!r}))
        check_tts_stream(registry.build("tts", settings.tts, settings.models_dir))
        beep = [o for o in describe(settings)["available"]["tts"] if o["name"] == "beep"]
        print(json.dumps({{"table": registry.engine_table()["tts"], "page": beep,
                           "fallback": registry.fallback_settings("tts", "beep") == EspeakSettings(),
                           "env": Settings().tts.engine}}))
    """)
    # the new module is importable like any installed one: its folder is on PYTHONPATH
    path = os.pathsep.join(p for p in (str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "AVATAR_CONFIG": "", "AVATAR_TTS__ENGINE": "beep", "PYTHONPATH": path}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["table"] == ["beep", "espeak", "festival", "rhvoice", "xtts"]
    assert report["page"] == [{"name": "beep", "label_ru": "Писк (пример движка)", "heavy": False,
                               "available": True, "reason_ru": None}]
    assert report["fallback"] is True and report["env"] == "beep"


# -- behaviour of the engines that run here ------------------------------------------------------

SENTENCES = "Привет! Как у тебя дела? Сегодня хорошая погода."


def check_tts_stream(engine: TTSEngine) -> None:
    """One AudioChunk per sentence, at the engine's rate, indices 0, 1, 2..., non-empty mono float32."""
    engine.load()
    try:
        async def collect() -> list[AudioChunk]:
            return [chunk async for chunk in engine.stream(SENTENCES)]

        chunks = asyncio.run(collect())
    finally:
        engine.close()
    assert [c.index for c in chunks] == list(range(len(engine.prepare_text(SENTENCES)))) == [0, 1, 2]
    for chunk in chunks:
        assert isinstance(chunk, AudioChunk) and chunk.sample_rate == engine.sample_rate
        assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1 and chunk.duration > 0.1
        assert np.abs(chunk.samples).max() > 0.01 and chunk.text


def _wav2lip_settings(folder: Path) -> Any:
    import torch

    from ai_pipeline.talking_head.wav2lip.engine import Wav2LipSettings
    from ai_pipeline.talking_head.wav2lip.net import Wav2Lip
    from tests.ai_pipeline.talking_head.test_wav2lip import save_official

    torch.manual_seed(0)
    checkpoint = save_official(Wav2Lip(), folder / "wav2lip_gan.pth")  # random weights, official layout
    return Wav2LipSettings(checkpoint=checkpoint, device="cpu", base_loop="mesh_warp", size=256,
                           base_loop_seconds=1.0, batch_size=8)


def _gfpgan_settings(folder: Path) -> Any:
    import torch

    from ai_pipeline.enhance.gfpgan import GfpganSettings
    from ai_pipeline.enhance.gfpgan_arch import GFPGANv1Clean

    torch.manual_seed(0)
    path = folder / "gfpgan_tiny.pth"  # the published layout at 64 px and 1/8 width
    torch.save({"params_ema": GFPGANv1Clean(out_size=64, narrow=0.125).state_dict()}, path)
    return GfpganSettings(checkpoint=path, device="cpu", strength=1.0)


def _defaults(stage: str, name: str, **update: Any) -> Callable[[Path], Any]:
    return lambda folder: registry.settings_class(stage, name)(**update)


# How each engine runs on this machine's CPU: settings made in a tmp folder.
TTS_RUNS: dict[str, Callable[[Path], Any]] = {"rhvoice": _defaults("tts", "rhvoice"),
                                              "festival": _defaults("tts", "festival"),
                                              "espeak": _defaults("tts", "espeak")}
HEAD_RUNS: dict[str, Callable[[Path], Any]] = {"mesh_warp": _defaults("talking_head", "mesh_warp", size=256),
                                               "wav2lip": _wav2lip_settings}
ENHANCE_RUNS: dict[str, Callable[[Path], Any]] = {
    "realesrgan_ncnn": _defaults("enhance", "realesrgan_ncnn", vulkan="off"),
    "realesrgan_torch": _defaults("enhance", "realesrgan_torch", device="cpu", precision="fp32", batch_size=2),
    "gfpgan": _gfpgan_settings,
}
NOT_RUN_HERE = {
    "xtts": "its test checkpoint (tests/xtts_tiny.py) has no built-in speaker, so it cannot speak without an "
            "enrolled voice; tests/ai_pipeline/tts/test_xtts.py streams it in a voice",
}


@pytest.mark.parametrize("stage, runs", [("tts", TTS_RUNS), ("talking_head", HEAD_RUNS), ("enhance", ENHANCE_RUNS)])
def test_every_engine_of_a_behaviour_stage_is_run_or_excused(stage, runs):
    assert set(registry.engine_names(stage)) == set(runs) | (set(NOT_RUN_HERE) & set(registry.engine_names(stage)))


def _runnable(stage: str, name: str, settings: Any, folder: Path) -> None:
    reason = registry.availability(stage, settings, folder)
    if reason is not None:
        pytest.skip(f"{stage}/{name} cannot run here: {reason}")


@pytest.mark.parametrize("name", sorted(TTS_RUNS))
def test_tts_streams_audio_chunks_in_order(name, tmp_path):
    settings = TTS_RUNS[name](tmp_path)
    _runnable("tts", name, settings, tmp_path)
    check_tts_stream(registry.build("tts", settings, tmp_path))


@pytest.fixture(scope="module", params=sorted(HEAD_RUNS))
def head(request, tmp_path_factory, photo_bytes):
    folder = tmp_path_factory.mktemp(f"head-{request.param}")
    settings = HEAD_RUNS[request.param](folder)
    _runnable("talking_head", request.param, settings, folder)
    engine = registry.build("talking_head", settings, folder)
    engine.load()
    avatar = engine.prepare(photo_bytes, cache_dir=folder / "avatars")
    yield engine, avatar
    engine.close()


def _speech(seconds: float, rate: int = 16000) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-like loudness
    return AudioChunk((0.3 * envelope * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def _check_batches(engine: TalkingHeadEngine, batches: list[FrameBatch], first: int, seconds: float, rate: int) -> None:
    expected = int(np.ceil(seconds * engine.fps - 1e-9))
    assert sum(len(b.frames) for b in batches) == expected
    frame = first
    for batch in batches:
        assert batch.first_frame == frame and batch.fps == engine.fps and batch.sample_rate == rate
        assert batch.frames.shape[1:] == (engine.size, engine.size, 3) and batch.frames.dtype == np.uint8
        assert len(batch.audio) == round(len(batch.frames) * rate / engine.fps)
        assert batch.landmarks is not None, "the enhancer gets each frame's landmarks"
        assert batch.landmarks.shape == (len(batch.frames), 468, 2) and batch.landmarks.dtype == np.float32
        assert np.isfinite(batch.landmarks).all()
        assert batch.landmarks.min() >= -0.1 * engine.size and batch.landmarks.max() <= 1.1 * engine.size
        frame += len(batch.frames)
    assert [b.final for b in batches] == [False] * (len(batches) - 1) + [True]


def test_head_frames_have_the_size_rate_and_numbering(head):
    engine, avatar = head
    audio = _speech(0.4)
    _check_batches(engine, list(engine.render(avatar, audio, first_frame=7)), 7, 0.4, audio.sample_rate)


def test_head_numbers_frames_continuously_across_chunks(head):
    """Chunk after chunk, as a streamer drives it: each chunk starts at the frame after the last one, and
    the pieces are the frames the whole would have had (a frame depends only on its number)."""
    engine, avatar = head
    frame, batches = 100, []
    for chunk in (_speech(0.2), _speech(0.3)):
        for batch in engine.render(avatar, chunk, first_frame=frame):
            batches.append(batch)
            frame = batch.first_frame + len(batch.frames)
    numbers = [b.first_frame + i for b in batches for i in range(len(b.frames))]
    assert numbers == list(range(100, 100 + len(numbers)))
    assert len(numbers) == int(np.ceil(0.2 * engine.fps)) + int(np.ceil(0.3 * engine.fps))
    rate = 16000
    whole = [f for b in engine.idle(avatar, 0.8, rate, first_frame=100) for f in b.frames]
    pieces = [f for b in engine.idle(avatar, 0.32, rate, first_frame=100) for f in b.frames]
    pieces += [f for b in engine.idle(avatar, 0.48, rate, first_frame=100 + len(pieces)) for f in b.frames]
    assert len(whole) == len(pieces) and all(np.array_equal(a, b) for a, b in zip(whole, pieces))


def test_head_idles_as_it_renders_silence(head):
    """``idle`` is silence: the same timeline as rendering silent audio, and the same frames - exactly for
    engines that keep the base implementation; an engine that overrides it (Wav2Lip plays its base loop
    instead of running the generator) may differ only in the lip-sync region, the lower face."""
    engine, avatar = head
    rate, seconds = 16000, 0.4
    idle = list(engine.idle(avatar, seconds, rate, first_frame=30))
    silent = list(engine.render(avatar, AudioChunk(np.zeros(int(seconds * rate), np.float32), rate), first_frame=30))
    _check_batches(engine, idle, 30, seconds, rate)
    assert [(b.first_frame, len(b.frames)) for b in idle] == [(b.first_frame, len(b.frames)) for b in silent]
    assert all(not b.audio.any() for b in idle)
    a, b = np.concatenate([x.frames for x in idle]), np.concatenate([x.frames for x in silent])
    if type(engine).idle is TalkingHeadEngine.idle:
        assert np.array_equal(a, b)
    else:
        top = int(engine.size * 0.35)
        assert np.array_equal(a[:, :top], b[:, :top])
    np.testing.assert_allclose(np.concatenate([x.landmarks for x in idle]),
                               np.concatenate([x.landmarks for x in silent]), atol=1e-4)


@pytest.fixture(scope="module")
def head_batch(photo_bytes, tmp_path_factory) -> FrameBatch:
    """Two mesh_warp frames with their landmarks: what the enhancer receives."""
    from ai_pipeline.talking_head.mesh_warp import MeshWarpEngine, MeshWarpSettings

    engine = MeshWarpEngine(MeshWarpSettings(size=256, batch_frames=2))
    avatar = engine.prepare(photo_bytes, cache_dir=tmp_path_factory.mktemp("enhance-avatar"))
    return next(iter(engine.render(avatar, _speech(0.08))))


@pytest.mark.parametrize("name", sorted(ENHANCE_RUNS))
def test_enhancer_keeps_frames_and_touches_only_the_face(name, head_batch, tmp_path):
    settings = ENHANCE_RUNS[name](tmp_path)
    _runnable("enhance", name, settings, tmp_path)
    engine = registry.build("enhance", settings, tmp_path)
    engine.load()
    try:
        size = head_batch.frames.shape[1]
        region = engine.region_for(head_batch.landmarks[0], (size, size))
        out = engine.enhance_batch(head_batch, region)
    finally:
        engine.close()
    assert out.frames.shape == head_batch.frames.shape and out.frames.dtype == np.uint8
    assert out.audio is head_batch.audio and out.first_frame == head_batch.first_frame
    outside = np.ones((size, size), bool)
    outside[region.slices] = False
    assert np.array_equal(out.frames[:, outside], head_batch.frames[:, outside])
    assert not np.array_equal(out.frames, head_batch.frames)


def test_wav2lip_engine_constants_match_its_network():
    """The engine keeps torch out of its import by restating the generator's crop side."""
    from ai_pipeline.talking_head.wav2lip import engine, net

    assert engine.FACE_SIZE == net.FACE_SIZE
