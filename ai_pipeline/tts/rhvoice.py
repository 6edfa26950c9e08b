"""RHVoice with its Russian voices (the default TTS): natural speech at 24 kHz on a CPU.

The engine library (``libRHVoice.so.5``) and the voices come from Debian 12 bookworm-backports,
section non-free (``rhvoice rhvoice-russian librhvoice5``; ``scripts/setup.sh`` adds the source).
The ctypes structures come from ``rhvoice-wrapper``; this module drives the library itself with
explicit library, data and configuration paths, so nothing is looked up in ``/usr/local``.

* One native engine per :class:`RhvoiceTTS` (its views from :meth:`~RhvoiceTTS.with_voice` share it);
  a message is spoken synchronously under a lock, the audio arrives in callbacks.
* The configuration folder is private (a temporary folder with one ``RHVoice.conf``): it turns on
  ``stress_marker=+``, so ``+`` before a vowel stresses it; ``accents`` puts those marks (and ``ё``)
  with ``silero-stress``. A literal plus never reaches the library.
* RHVoice reports words, not phonemes: Festival's phonemes for the same sentence (eSpeak NG's
  without Festival) are aligned to the audio (:mod:`ai_pipeline.tts.align`), so the mouth still
  closes on п/б/м.
* Voices: by default only the freely licensed ones; the CC-BY-NC-ND voices need
  ``allow_noncommercial_voices: true`` and are labelled non-commercial wherever they are offered.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import ctypes.util
import re
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.engine import EngineInfo, EngineSettings, missing_package
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.tts.base import StandardVoice, TTSCapabilities, TTSEngine

log = logging.getLogger(__name__)
SAMPLE_RATE = 24_000  # every Russian voice has a 24 kHz model; the rate is read back per message
INSTALL = ("apt-get install -t bookworm-backports rhvoice rhvoice-russian librhvoice5 "
           "(Debian 12, section non-free; bash scripts/setup.sh adds the source)")

_FREE = "GPL-2+"
# The Russian voices of rhvoice-russian 1.14 with the licence of their data (Debian's copyright file).
VOICES: dict[str, StandardVoice] = {v.name: v for v in (
    StandardVoice("anna", "Анна", "female", _FREE, True),
    StandardVoice("irina", "Ирина", "female", _FREE, True),
    StandardVoice("elena", "Елена", "female", "GPL-3", True),
    StandardVoice("aleksandr", "Александр", "male", _FREE, True),
    StandardVoice("aleksandr-hq", "Александр HQ", "male", "CC-BY-SA-4.0", True),
    *(StandardVoice(name, label, gender, "CC-BY-NC-ND-4.0", False) for name, label, gender in (
        ("arina", "Арина", "female"), ("tatiana", "Татьяна", "female"), ("victoria", "Виктория", "female"),
        ("umka", "Умка", "female"), ("artemiy", "Артемий", "male"), ("evgeniy-rus", "Евгений", "male"),
        ("mikhail", "Михаил", "male"), ("pavel", "Павел", "male"), ("timofey", "Тимофей", "male"),
        ("vitaliy", "Виталий", "male"), ("vitaliy-ng", "Виталий NG", "male"), ("vsevolod", "Всеволод", "male"),
        ("yuriy", "Юрий", "male"))),
)}
_STRESSED = re.compile("([аеёиоуыэюяАЕЁИОУЫЭЮЯ])\u0301")


class RhvoiceSettings(EngineSettings):
    user_options: ClassVar[tuple[str, ...]] = ("voice", "allow_noncommercial_voices", "rate", "pitch")

    engine: Literal["rhvoice"] = "rhvoice"
    voice: str = "irina"  # the clearest female voice here (WER 0.07 vs anna 0.11) and her pace lip-syncs well
    allow_noncommercial_voices: bool = False  # offer (and allow) the CC-BY-NC-ND voices
    rate: float = Field(1.0, ge=0.5, le=2.0)  # relative speaking rate
    pitch: float = Field(1.0, ge=0.5, le=2.0)  # relative pitch
    volume: float = Field(1.0, ge=0.25, le=2.0)  # relative volume
    # stress and ё from silero-stress, by context: "homographs" restores ё («всё готово», «слёзы») and
    # stresses the words whose stress depends on the context («зам+ок на двери»), ~4 ms a sentence but
    # ~6 s and ~400 MB to load; "marks" stresses every word of two syllables or more; "yo" only
    # restores ё; "off" leaves it all to RHVoice's dictionary (which restores ё only where it is certain)
    accents: Literal["homographs", "marks", "yo", "off"] = "homographs"
    phonemes: bool = True  # align eSpeak NG's phonemes to the audio, for lip sync
    lib_path: str = "libRHVoice.so.5"  # a name the loader finds, or a path
    data_path: str = "/usr/share/RHVoice"

    @model_validator(mode="after")
    def _known_voice(self) -> RhvoiceSettings:
        check_voice(self.voice, self.allow_noncommercial_voices)
        return self


def check_voice(name: str, allow_noncommercial: bool) -> StandardVoice:
    """The voice called ``name``; ValueError for an unknown one or a non-commercial one not allowed."""
    voice = VOICES.get(name.lower())
    if voice is None:
        raise ValueError(f"unknown RHVoice voice {name!r}; voices: {', '.join(VOICES)}")
    if not voice.commercial and not allow_noncommercial:
        raise ValueError(f"RHVoice voice {name!r} is licensed {voice.licence} (non-commercial use only); "
                         "set tts.allow_noncommercial_voices: true to use it")
    return voice


def _library_path(settings: RhvoiceSettings) -> str | None:
    path = Path(settings.lib_path)
    if path.is_absolute():
        return str(path) if path.is_file() else None
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
        if (Path(folder) / settings.lib_path).is_file():
            return str(Path(folder) / settings.lib_path)
    # elsewhere: ask the loader's cache (runs ldconfig, so only when the usual folders miss)
    return settings.lib_path if ctypes.util.find_library("RHVoice") else None


class _Native:
    """One RHVoice engine: the library, its callbacks and the audio of the message being spoken."""

    def __init__(self, settings: RhvoiceSettings) -> None:
        from rhvoice_wrapper.rhvoice_bindings import (
            RHVoice_callback_types,
            RHVoice_callbacks,
            RHVoice_init_params,
            RHVoice_synth_params,
            load_tts_library,
        )

        path = _library_path(settings)
        if path is None:
            raise EngineUnavailable("RHVoice не установлен.", f"{settings.lib_path} not found; {INSTALL}")
        self.lib, self.api = load_tts_library(path)
        self._synth_params = RHVoice_synth_params(self.api)
        self.lock = threading.Lock()
        self.rate = SAMPLE_RATE
        self._chunks: list[np.ndarray] = []
        self._first_audio: float | None = None
        types = RHVoice_callback_types
        # the callback objects must live as long as the engine
        self._callbacks = RHVoice_callbacks(self.api)(set_sample_rate=types.set_sample_rate(self._on_rate),
                                                      play_speech=types.play_speech(self._on_speech))
        self.config_dir = Path(tempfile.mkdtemp(prefix="avatar-rhvoice-"))
        (self.config_dir / "RHVoice.conf").write_text("stress_marker=+\n", encoding="utf-8")
        self._resources = (ctypes.c_char_p * 1)(None)
        self._init = RHVoice_init_params(self.api)(
            data_path=settings.data_path.encode(), config_path=str(self.config_dir).encode(),
            resource_paths=self._resources, callbacks=self._callbacks)
        self.engine = self.lib.RHVoice_new_tts_engine(ctypes.byref(self._init))
        if not self.engine:
            shutil.rmtree(self.config_dir, ignore_errors=True)
            raise EngineUnavailable("RHVoice не запустился.", f"RHVoice_new_tts_engine failed (data: {settings.data_path})")
        infos = self.lib.RHVoice_get_voices(self.engine)
        self.voices = {infos[i].name.decode().lower(): infos[i].name
                       for i in range(self.lib.RHVoice_get_number_of_voices(self.engine))}

    def _on_rate(self, rate: int, _user: Any) -> int:
        self.rate = rate
        return 1

    def _on_speech(self, samples: Any, count: int, _user: Any) -> int:
        if self._first_audio is None:
            self._first_audio = time.perf_counter()
        self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 1

    def speak(self, text: str, settings: RhvoiceSettings) -> tuple[np.ndarray, int, float]:
        """(int16 samples, rate, seconds to the first audio) of one message (caller holds ``lock``)."""
        voice = self.voices.get(settings.voice.lower())
        if voice is None:
            raise EngineUnavailable(f"Голос RHVoice «{settings.voice}» не установлен.",
                                    f"voice {settings.voice!r} missing in {settings.data_path}; {INSTALL}")
        params = self._synth_params(voice_profile=voice, absolute_rate=0.0, absolute_pitch=0.0,
                                    absolute_volume=0.0, relative_rate=settings.rate,
                                    relative_pitch=settings.pitch, relative_volume=settings.volume,
                                    punctuation_mode=0, punctuation_list=None, capitals_mode=0)
        data = text.encode("utf-8")
        self._chunks, self._first_audio = [], None
        started = time.perf_counter()
        message = self.lib.RHVoice_new_message(self.engine, data, len(data), 0, ctypes.byref(params), None)
        if not message:
            raise EngineFailed("RHVoice не смог разобрать фразу.", f"RHVoice_new_message failed for {text[:80]!r}")
        try:
            if not self.lib.RHVoice_speak(message):
                raise EngineFailed("RHVoice не смог озвучить фразу.", f"RHVoice_speak failed for {text[:80]!r}")
        finally:
            self.lib.RHVoice_delete_message(message)
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        first = (self._first_audio or time.perf_counter()) - started
        self._chunks = []
        return samples, self.rate, first

    def close(self) -> None:
        if self.engine:
            self.lib.RHVoice_delete_tts_engine(self.engine)
            self.engine = None
        shutil.rmtree(self.config_dir, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _accents() -> Any:
    """One silero-stress model per process (thread-safe; loaded on first use, ~6 s); None when it
    cannot load (RHVoice's dictionary alone then, said once in the log)."""
    from ai_pipeline.tts.russian_accents import RussianAccents

    accents = RussianAccents()
    try:
        accents.load()
    except EngineUnavailable as exc:
        log.warning("RHVoice speaks without silero-stress: %s", exc.message_en)
        return None
    return accents


class _Shared:
    """What an engine and its voice views share: the native engine (lazy) and the reference voice."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.native: _Native | None = None
        self.reference: TTSEngine | None = None  # Festival or eSpeak NG, for phoneme timings
        self.pool: ThreadPoolExecutor | None = None  # runs the reference voice beside RHVoice

    def submit(self, fn: Any, *args: Any) -> Future:
        with self.lock:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rhvoice-reference")
            return self.pool.submit(fn, *args)


class RhvoiceTTS(TTSEngine):
    """RHVoice speaking one of its Russian voices (thread-safe; views per voice share the engine)."""

    name = "rhvoice"
    settings_class = RhvoiceSettings
    info = EngineInfo(label_ru="RHVoice (естественный голос)", heavy=False, fallback="festival", vram_mb=0)
    capabilities = TTSCapabilities(phonemes=True)

    def __init__(self, settings: RhvoiceSettings | None = None, models_dir: str | Path | None = None,
                 *, _shared: _Shared | None = None) -> None:
        super().__init__(settings, models_dir)
        self._owner = _shared is None
        self._shared = _shared or _Shared()
        self.last_timing: dict[str, float] = {}

    @classmethod
    def availability(cls, settings: RhvoiceSettings, models_dir: Path) -> str | None:
        reason = missing_package("rhvoice_wrapper")
        if reason:
            return reason + " (pip install rhvoice-wrapper)"
        if _library_path(settings) is None:
            return "не установлен RHVoice (пакеты rhvoice, rhvoice-russian, librhvoice5 из bookworm-backports)"
        if not (Path(settings.data_path) / "voices" / settings.voice.lower()).is_dir():
            return f"не установлен голос RHVoice «{settings.voice}» (пакет rhvoice-russian)"
        return None

    @property
    def sample_rate(self) -> int:
        native = self._shared.native
        return native.rate if native is not None else SAMPLE_RATE

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "voice": self.settings.voice, "rate": self.settings.rate,
                "pitch": self.settings.pitch, "accents": self.settings.accents}

    def load(self) -> None:
        """Create the native engine and speak a word, so the voice's data is read now (about 0.1 s)."""
        self._native()
        self.synthesize_sentence("Да.")

    def close(self) -> None:
        """Delete the native engine (views close nothing: their engine does)."""
        if not self._owner:
            return
        shared = self._shared
        with shared.lock:
            pool, shared.pool = shared.pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # a reference sentence in flight finishes before its engine closes
        with shared.lock:
            native, shared.native = shared.native, None
            reference, shared.reference = shared.reference, None
        if native is not None:
            with native.lock:
                native.close()
        if reference is not None:
            reference.close()

    # -- voices ---------------------------------------------------------------------------------

    def standard_voices(self) -> list[StandardVoice]:
        """The installed voices the settings allow: the free ones, then (if allowed) the others."""
        folder = Path(self.settings.data_path) / "voices"
        allowed = [v for v in VOICES.values() if v.commercial or self.settings.allow_noncommercial_voices]
        return [v for v in allowed if (folder / v.name).is_dir()]

    def with_voice(self, name: str | None) -> TTSEngine:
        if name is None or name.lower() == self.settings.voice:
            return self
        offered = ", ".join(v.name for v in self.standard_voices())
        try:
            check_voice(name, self.settings.allow_noncommercial_voices)
        except ValueError as exc:
            raise InputError(f"Голос «{name}» недоступен; есть: {offered}.", str(exc), code="unknown_voice") from None
        if name.lower() not in offered.split(", "):
            raise InputError(f"Голос «{name}» не установлен; есть: {offered}.",
                             f"RHVoice voice {name!r} is not installed", code="unknown_voice")
        return RhvoiceTTS(self.settings.model_copy(update={"voice": name.lower()}), self.models_dir,
                          _shared=self._shared)

    # -- synthesis --------------------------------------------------------------------------------

    def synthesize_sentence(self, text: str) -> AudioChunk:
        """Synthesise one normalised sentence (blocking; serialised per native engine)."""
        plain = text.replace("+", " ")
        if not any(ch.isalnum() for ch in plain):
            raise InputError("Текст пуст: нечего произносить.", "Nothing speakable for RHVoice.", code="empty_text")
        # the reference voice speaks the sentence in another thread meanwhile (a Festival process or
        # eSpeak's library: neither holds the GIL while it works)
        reference = self._shared.submit(self._reference_speech, plain) if self.settings.phonemes else None
        t0 = time.perf_counter()
        spoken = self._accented(plain)
        native = self._native()
        t1 = time.perf_counter()
        try:
            with native.lock:
                raw, rate, first = native.speak(spoken, self.settings)
        finally:
            ref_chunk = reference.result() if reference is not None else None
        samples = raw.astype(np.float32) / 32768.0
        t2 = time.perf_counter()
        marks = self._phonemes(ref_chunk, samples, rate)
        self.last_timing = {"accents_s": t1 - t0, "first_audio_s": first, "synth_s": t2 - t1,
                            "align_s": time.perf_counter() - t2}
        return AudioChunk(samples, rate, text, marks)

    def _native(self) -> _Native:
        shared = self._shared
        with shared.lock:
            if shared.native is None:
                shared.native = _Native(self.settings)
            return shared.native

    def _accented(self, text: str) -> str:
        mode = self.settings.accents
        if mode == "off":
            return text
        accents = _accents()
        if accents is None:
            return text
        marked = accents.apply(text, marks=mode != "yo", homographs_only=mode == "homographs")
        return _STRESSED.sub(lambda m: "+" + m.group(1), marked)

    @staticmethod
    def _phonemes(reference: AudioChunk | None, samples: np.ndarray, rate: int) -> tuple:
        from ai_pipeline.tts.align import transfer_marks

        if reference is None:
            return ()  # neither Festival nor eSpeak: the mouth follows the audio alone
        return transfer_marks(reference.phonemes, reference.samples, reference.sample_rate, samples, rate)

    def _reference_speech(self, text: str) -> AudioChunk | None:
        """The sentence from Festival (eSpeak NG when Festival is missing), with its phoneme times."""
        from ai_pipeline.tts.espeak import EspeakTTS
        from ai_pipeline.tts.festival import FestivalTTS

        shared = self._shared
        with shared.lock:
            if shared.reference is None:
                shared.reference = next((engine() for engine in (FestivalTTS, EspeakTTS)
                                         if engine.availability(engine.settings_class(), Path()) is None), None)
            reference = shared.reference
        if reference is None:
            return None
        try:
            return reference.synthesize_sentence(text)
        except (EngineUnavailable, EngineFailed, InputError):
            return None
