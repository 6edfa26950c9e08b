"""The pipeline runner: engines built from settings, loaded once, streamed stage into stage.

``Pipeline.render`` is the batch use (photo + text or audio -> one MP4), ``Pipeline.live_stream`` a
conversation's video; both are the one streamer (:class:`ai_pipeline.streaming.AvatarStream`) with a
different encoder, enhanced through the one hook of ``Pipeline.enhancer_for``. In a render, stages
overlap: TTS of sentence two runs while sentence one is being rendered, and the next frames are drawn
while the last ones are enhanced and encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ai_pipeline.asr.base import SAMPLE_RATE, ASREngine
from ai_pipeline.assets import default_photo_path
from ai_pipeline.chunks import AudioChunk, FrameBatch, Transcript
from ai_pipeline.encode.mp4 import Mp4Encoder
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError, InputTooLarge
from ai_pipeline.media.audio_io import decode_audio
from ai_pipeline.emotion.base import EmotionEngine
from ai_pipeline.enhance.base import EnhanceEngine
from ai_pipeline.enhance.region import FaceRegion
from ai_pipeline.gpu import configure_gpu
from ai_pipeline.llm.base import LLMEngine
from ai_pipeline import registry
from ai_pipeline.request import RenderRequest
from ai_pipeline.text.normalize import warm_up as warm_up_normaliser
from ai_pipeline.settings import Settings
from ai_pipeline.streaming import AvatarStream, Emitted, Enhance, Sink, live_encoder
from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine
from ai_pipeline.talking_head.prepare import photo_id
from ai_pipeline.timing import StageTimer
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.speaker import VoicedTTS

log = logging.getLogger(__name__)
STAGES = ("asr", "llm", "emotion", "tts", "talking_head")
Progress = Callable[[float, str], None]
SECONDS_PER_CHAR = 0.075  # rough speech duration estimate, for progress before TTS is done
# The Pipeline attributes that hold each switchable stage's engines (a new talking head gets a new enhancer).
STAGE_ENGINES: dict[str, tuple[str, ...]] = {"asr": ("asr",), "llm": ("llm",), "emotion": ("emotion",),
                                             "tts": ("tts",), "talking_head": ("head", "enhancer"),
                                             "enhance": ("enhancer",)}


@dataclass(frozen=True)
class RenderResult:
    """An encoded clip and how it was made."""

    mp4: bytes
    duration: float
    frames: int
    sample_rate: int
    avatar_id: str
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()


@dataclass
class StageEngines:
    """Engines built for one stage by ``Pipeline.build_stage``, not yet in use (``Pipeline.swap`` puts them in)."""

    stage: str
    settings: Settings  # what they were built from
    engines: dict[str, Any]  # Pipeline attribute -> engine (None: that stage is off)

    def close(self) -> None:
        """Drop engines that were never swapped in."""
        for engine in self.engines.values():
            if engine is not None:
                engine.close()


class Pipeline:
    """Engines for every stage, loaded once (from a FastAPI lifespan or the CLI)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.asr: ASREngine | None = None
        self.llm: LLMEngine | None = None
        self.emotion: EmotionEngine | None = None
        self.tts: TTSEngine | None = None
        self.head: TalkingHeadEngine | None = None
        self.enhancer: EnhanceEngine | None = None  # optional stage on the face region of the frames
        self.gpu = configure_gpu(self.settings.gpu)  # the VRAM budget heavy engines register with
        self.notices: list[str] = []
        self._avatars: dict[str, Avatar] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def load(self, progress: Progress | None = None, stages: tuple[str, ...] = STAGES) -> None:
        """Build and load the engines of ``stages``, falling back to a lighter one (and saying so)."""
        report = progress or (lambda f, m: None)
        if "asr" in stages:
            report(0.0, "Загрузка распознавания речи")
            self.asr = self._with_fallback("asr")
        if "llm" in stages:
            report(0.2, "Загрузка языковой модели")
            self.llm = self._with_fallback("llm")
        if "emotion" in stages:
            self.emotion = self._with_fallback("emotion")
        if "tts" in stages:
            report(0.5, "Загрузка синтеза речи")
            self.tts = self._with_fallback("tts")
            warm_up_normaliser()  # ru-normalizr's dictionaries now, not in the first reply
        if "talking_head" in stages:
            report(0.7, "Загрузка анимации лица")
            self.head = self._with_fallback("talking_head")
            self._avatars.clear()  # prepared by the previous head (its size and state)
        if "talking_head" in stages or "enhance" in stages:
            self.enhancer = self._load_enhancer()  # the caller closes the one it replaces
        report(1.0, "Готово")

    def _with_fallback(self, stage: str) -> Any:
        """The stage's configured engine, loaded; if it cannot load, its catalogue fallbacks in turn
        (RHVoice -> Festival -> eSpeak), each step said in a notice."""
        settings = getattr(self.settings, stage)
        while True:
            engine = registry.build(stage, settings, self.settings.models_dir)
            states_mb = self.settings.memory.prompt_states_mb
            if stage == "llm" and states_mb:
                engine.use_state_folder(self.settings.data_dir / "llm_states", states_mb << 20)
            try:
                engine.load()
                return engine
            except (EngineUnavailable, OSError) as exc:
                engine.close()
                fallback = registry.fallback_settings(stage, settings.engine)
                if fallback is None:
                    raise
                reason = getattr(exc, "message_ru", None) or str(exc)
                notice = (f"Этап «{stage}»: движок «{settings.engine}» недоступен ({reason}); "
                          f"используется «{fallback.engine}»")
                log.warning(notice)
                self.notices.append(notice)
                settings = fallback

    def _load_enhancer(self) -> EnhanceEngine | None:
        """The optional enhancement stage; if it cannot load, frames go out unenhanced (with a notice)."""
        settings = self.settings.enhance
        try:
            engine = registry.build("enhance", settings, self.settings.models_dir)
            if engine is not None:
                engine.load()
            return engine
        except (EngineUnavailable, OSError) as exc:
            reason = getattr(exc, "message_ru", None) or str(exc)
            notice = f"Этап «enhance»: движок «{settings.engine}» недоступен ({reason}); улучшение лица выключено"
            log.warning(notice)
            self.notices.append(notice)
            return None

    def build_stage(self, stage: str, settings: Settings) -> StageEngines:
        """Build and load ``stage``'s engines from ``settings`` next to the running ones, which stay untouched
        (blocking; falls back to a lighter engine like ``load``, and says so in ``notices``)."""
        scratch = Pipeline(settings)
        try:
            scratch.load(stages=(stage,))
        finally:
            self.notices.extend(scratch.notices)
        return StageEngines(stage, settings, {attr: getattr(scratch, attr) for attr in STAGE_ENGINES[stage]})

    def swap(self, built: StageEngines) -> list[Any]:
        """Put engines from ``build_stage`` in place, with their stage's settings; returns the engines they
        replace, for the caller to close once nothing uses them."""
        replaced = []
        for attr, engine in built.engines.items():
            old = getattr(self, attr)
            setattr(self, attr, engine)
            if old is not None and old is not engine:
                replaced.append(old)
        if "head" in built.engines:
            self._avatars.clear()  # prepared by the previous head (its size and state)
        section = getattr(built.settings, built.stage)
        self.settings = self.settings.model_copy(update={built.stage: section})
        return replaced

    def close(self) -> None:
        for engine in (self.asr, self.llm, self.emotion, self.tts, self.head, self.enhancer):
            if engine is not None:
                engine.close()

    def status(self) -> dict[str, object]:
        return {
            "asr": self.asr.describe() if self.asr else None,
            "llm": self.llm.describe() if self.llm else None,
            "emotion": self.emotion.describe() if self.emotion else None,
            "tts": self.tts.describe() if self.tts else None,
            "talking_head": self.head.describe() if self.head else None,
            "enhance": self.enhancer.describe() if self.enhancer else None,
            "notices": list(self.notices),
        }

    # -- avatars ----------------------------------------------------------------------------

    def avatar(self, photo: bytes) -> Avatar:
        """Prepare (or fetch from memory/disk cache) the avatar for a photo; blocking."""
        assert self.head is not None, "Pipeline.load() first"
        limits = self.settings.limits
        if len(photo) > limits.max_upload_mb * 1e6:
            raise InputTooLarge(f"Фото больше {limits.max_upload_mb:g} МБ.", "Photo too large.", code="image_too_large")
        key = photo_id(photo, self.head.size)
        if key not in self._avatars:
            if len(self._avatars) > 16:
                self._avatars.pop(next(iter(self._avatars)))
            self._avatars[key] = self.head.prepare(photo, cache_dir=self.settings.avatars_dir,
                                                   min_face_px=limits.min_face_px,
                                                   max_pixels=int(limits.max_image_megapixels * 1e6))
        return self._avatars[key]

    def avatar_by_id(self, avatar_id: str | None) -> Avatar:
        """A photo prepared earlier (by ``avatar`` / ``POST /api/avatars``), or the default avatar."""
        if avatar_id is None:
            return self.avatar(default_photo_path(self.settings.avatars_dir).read_bytes())
        photo = self.settings.avatars_dir / avatar_id / "photo.bin"
        if not photo.is_file():
            raise InputError("Аватар не найден: загрузите фото заново.", f"No prepared avatar {avatar_id}",
                             code="avatar_not_found")
        return self.avatar(photo.read_bytes())

    # -- streaming building blocks ----------------------------------------------------------

    def check_text(self, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise InputError("Пустой текст: напишите, что должен сказать аватар.", "Empty text.", code="empty_text")
        limit = self.settings.limits.max_text_chars
        if len(text) > limit:
            raise InputTooLarge(f"Текст слишком длинный: {len(text)} символов, допустимо до {limit}.",
                                f"Text too long: {len(text)} > {limit} chars.", code="text_too_long")
        return text

    def face_region(self, avatar: Avatar) -> FaceRegion | None:
        """Where the enhancement stage works on this avatar's frames (None: no enhancement)."""
        if self.enhancer is None:
            return None
        return self.enhancer.region_for(avatar.face.landmarks, (avatar.face.size, avatar.face.size))

    def enhancer_for(self, avatar: Avatar) -> Enhance | None:
        """The enhancement of ``avatar``'s frames as one blocking call per batch, or None when off.

        The only way frames reach the enhancer: every :class:`AvatarStream` (live or render) applies it
        to each rendered batch. An enhancer that fails (its lazy GPU load, the VRAM budget, anything)
        is switched off for the rest of that video, which goes on unenhanced (with a notice)."""
        enhancer, region = self.enhancer, self.face_region(avatar)
        if enhancer is None or region is None:
            return None
        failed = False

        def enhance(batch: FrameBatch) -> FrameBatch:
            nonlocal failed  # a failing enhancer must not stop the video: frames go out as they are
            if not failed:
                try:
                    return enhancer.enhance_batch(batch, region)
                except Exception as exc:  # noqa: BLE001 - any engine error degrades, and says so
                    failed = True
                    log.warning("enhancement failed, sending frames unenhanced: %s", exc)
                    self.notices.append(f"Улучшение лица отключено до конца этого видео: {exc}")
            return batch

        return enhance

    def live_stream(self, avatar: Avatar, sink: Sink, *, sample_rate: int) -> AvatarStream:
        """A conversation's avatar video: fragmented MP4 segments to ``sink``, idle while listening."""
        assert self.head is not None, "Pipeline.load() with the talking_head stage first"
        return AvatarStream(self.head, avatar, sample_rate=sample_rate,
                            encoder=live_encoder(self.settings.encoder, self.head, sample_rate), sink=sink,
                            enhance=self.enhancer_for(avatar), realtime=self.settings.realtime)

    def decode_audio(self, data: bytes) -> AudioChunk:
        """Decode an uploaded recording to mono float32 at a rate AAC and browsers handle (16-48 kHz)."""
        limits = self.settings.limits
        samples, rate = decode_audio(data, max_seconds=limits.max_audio_seconds, rate_range=(16000, 48000))
        if float(np.abs(samples).max(initial=0.0)) < 1e-4:
            raise InputError("В записи тишина: аватару нечего произносить.", "Audio is silent.", code="silent_audio")
        return AudioChunk(samples.astype(np.float32), rate)

    def decode_utterance(self, data: bytes) -> np.ndarray:
        """Decode one spoken turn (any browser/file format) to 16 kHz mono for ASR."""
        samples, _ = decode_audio(data, target_rate=SAMPLE_RATE, max_seconds=self.settings.limits.max_utterance_seconds)
        return samples

    async def transcribe(self, data: bytes, language: str | None = None) -> Transcript:
        assert self.asr is not None, "Pipeline.load() with the asr stage first"
        samples = await asyncio.to_thread(self.decode_utterance, data)
        return await self.asr.atranscribe(samples, language=language)

    # -- batch render -----------------------------------------------------------------------

    def resolve(self, request: RenderRequest) -> RenderRequest:
        """``request`` ready to render (blocking): the recording decoded, the text checked against the
        limits, the voice looked up among the enrolled ones (by id or name), the standard voice checked
        against the TTS engine's (when it is loaded; InputError ``unknown_voice``)."""
        text = self.check_text(request.text) if request.text is not None else None
        if request.tts_voice is not None and self.tts is not None:
            self.tts.with_voice(request.tts_voice)
        audio, voice = request.audio, request.voice
        if isinstance(audio, bytes):
            audio = self.decode_audio(audio)
        if isinstance(voice, str):
            from ai_pipeline.voice.store import VoiceStore

            voice = VoiceStore(self.settings.voices_dir, limits=self.settings.limits).get(voice)
        return request.model_copy(update={"text": text, "audio": audio, "voice": voice})

    def speaking_tts(self, request: RenderRequest) -> TTSEngine:
        """The TTS engine as a light view speaking the request's standard voice; without one, an enrolled
        voice's prepared base (the standard voice closest once matched), else the configured voice."""
        assert self.tts is not None, "Pipeline.load() with the tts stage first"
        tts = self.tts.with_voice(request.tts_voice)
        voice = request.voice if isinstance(request.voice, Voice) else None
        if request.tts_voice is None and voice is not None and (base := voice.base_voice()):
            with contextlib.suppress(InputError):  # a base this engine no longer offers: the configured voice
                tts = self.tts.with_voice(base)
        return tts

    async def render(self, avatar: Avatar, request: RenderRequest | None = None, *, text: str | None = None,
                     audio: AudioChunk | None = None, progress: Progress | None = None,
                     voice: Voice | None = None) -> RenderResult:
        """Encode the avatar speaking the request's text (via TTS, in its voice if given) or lip-syncing its
        recording; ``text``/``audio``/``voice`` are a shorthand for a request."""
        if request is None:
            request = RenderRequest(text=text, audio=audio, voice=voice)  # the rule is the model's
        elif text is not None or audio is not None or voice is not None:
            raise TypeError("give a RenderRequest or text/audio/voice, not both")
        request = await asyncio.to_thread(self.resolve, request)
        assert self.head is not None, "Pipeline.load() with the talking_head stage first"
        timer = StageTimer()
        report = progress or (lambda f, m: None)
        speech: AsyncIterator[AudioChunk]
        if isinstance(request.audio, AudioChunk):
            expected = request.audio.duration
            speech = _one(request.audio)
        else:
            assert request.text is not None and not isinstance(request.voice, str)
            assert self.tts is not None, "Pipeline.load() with the tts stage first"
            expected = max(len(request.text) * SECONDS_PER_CHAR, 0.5)
            tts = await asyncio.to_thread(self.speaking_tts, request)  # reads the voice folder
            speech = VoicedTTS(tts, request.voice).stream(self.check_text(request.text), timer)
        if request.emotion is not None:
            speech = _showing(speech, request.emotion)
        files: list[Emitted] = []

        async def keep(item: Emitted) -> None:
            files.append(item)

        def encoded(seconds: float) -> None:
            report(min(seconds / expected, 0.99), "Рендеринг видео")

        async with contextlib.aclosing(speech):  # type: ignore[type-var]
            first = await anext(speech, None)  # the file takes the sample rate of the speech
            if first is None:
                raise EngineFailed("Синтез речи ничего не вернул.", "TTS produced no audio")
            encoder = Mp4Encoder(self.settings.encoder, width=self.head.size, height=self.head.size,
                                 fps=self.head.fps, sample_rate=first.sample_rate)
            stream = AvatarStream(self.head, avatar, sample_rate=first.sample_rate, encoder=encoder, sink=keep,
                                  enhance=self.enhancer_for(avatar), timer=timer, on_encoded=encoded)
            await stream.play(_chain(first, speech))
        report(1.0, "Готово")
        return RenderResult(b"".join(item.segment.data for item in files), stream.media_time, stream.frame,
                            first.sample_rate, avatar.id, timer.as_dict(), avatar.warnings)


async def _one(audio: AudioChunk) -> AsyncIterator[AudioChunk]:
    yield audio


async def _showing(speech: AsyncIterator[AudioChunk], emotion: str) -> AsyncIterator[AudioChunk]:
    """Every clip of ``speech`` with ``emotion`` on the face, fully."""
    async with contextlib.aclosing(speech):  # type: ignore[type-var]
        async for chunk in speech:
            yield replace(chunk, emotion=emotion, emotion_confidence=1.0)


async def _chain(first: AudioChunk, rest: AsyncIterator[AudioChunk]) -> AsyncIterator[AudioChunk]:
    yield first
    async for chunk in rest:
        yield chunk
