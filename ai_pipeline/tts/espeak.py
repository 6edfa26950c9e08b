"""eSpeak NG TTS through ctypes on ``libespeak-ng.so.1`` (synchronous mode), 22.05 kHz mono.

The library is initialised once per process with phoneme events enabled; a synthesis callback
collects int16 samples and ``espeakEVENT_PHONEME`` events. A phoneme starts at its event's
``audio_position`` (ms) and ends where the next event starts. eSpeak keeps global state, so every
call is serialised by one module-level lock and re-applies its engine's voice, rate and pitch.

Phoneme names are eSpeak's own mnemonics for the ``ru`` voice (not IPA). Pauses (``_``, ``_:``,
``_!``) are not listed: gaps between marks are silence. Names seen on 713 Russian sentences
(espeak-ng 1.51), grouped by mouth shape:

* vowels ``a A a# e E E# E2 i I I^ o u u" u# y`` plus reduced ``V`` (unstressed а/о - starts with
  a capital V, *not* a labiodental), ``@`` and ``@-`` (schwa), ``8`` (ё-like o after a soft
  consonant); ``ja`` and ``ju`` are iotated vowels (я, ю) whose first letter is the glide
* bilabials ``p b m m;``; labiodentals ``f v``
* other consonants ``t t; d d; k g s s; z z; S S;`` (ш, щ) ``Z Z;`` (ж) ``ts`` (ц) ``tS;`` (ч)
  ``dZ;`` ``x`` (х) ``n n_ N l r j``
* ``;`` alone is a palatal off-glide after a consonant (ль, нь, рь): keep the previous mouth shape

A ``;`` suffix marks palatalisation. So a first-letter mapper must special-case ``V``, ``@``, ``8``
and ``;``; everything else follows the first-letter rule (vowels a/o/u/i/e/y, p/b/m, f/v).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.engine import EngineInfo, EngineSettings
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.tts.base import TTSCapabilities, TTSEngine

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED, _EVENT_END, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 0, 5, 6, 7
_PARAM_RATE, _PARAM_PITCH = 1, 3
_BUFFER_MS = 200


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Collector:
    """Samples and (name, ms) phoneme events of the utterance being synthesised."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[str, int]] = []


def _open_library() -> ctypes.CDLL:
    """dlopen libespeak-ng (cheap: nothing is initialised); OSError when it is not installed."""
    return ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")


class _Library:
    """The process-wide eSpeak NG instance. Use only while holding ``_LOCK``."""

    def __init__(self) -> None:
        try:
            self.lib = _open_library()
        except OSError:
            raise EngineUnavailable("eSpeak NG не установлен.",
                                    "libespeak-ng not found; apt-get install libespeak-ng1 espeak-ng-data") from None
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                          ctypes.c_void_p]
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None,
                                                      _INITIALIZE_PHONEME_EVENTS)
        if self.sample_rate <= 0:
            raise EngineUnavailable("eSpeak NG не запустился.", "espeak_Initialize failed (espeak-ng-data missing?)")
        self.collector = _Collector()
        self._callback = _CALLBACK(self._on_synth)  # kept referenced: eSpeak calls it later
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.POINTER(_Event)) -> int:
        if count > 0 and wav:
            self.collector.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                self.collector.events.append((event.id.string.decode("utf-8", "replace"), event.audio_position))
            elif event.type in (_EVENT_END, _EVENT_MSG_TERMINATED):
                self.collector.events.append(("", event.audio_position))
            index += 1
        return 0

    def configure(self, settings: EspeakSettings) -> None:
        if self.lib.espeak_SetVoiceByName(settings.voice.encode()) != 0:
            raise EngineUnavailable(f"Голос eSpeak «{settings.voice}» не найден.",
                                    f"espeak_SetVoiceByName({settings.voice!r}) failed")
        self.lib.espeak_SetParameter(_PARAM_RATE, settings.rate_wpm, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, settings.pitch, 0)

    def synthesize(self, text: str) -> _Collector:
        self.collector = _Collector()
        data = text.encode("utf-8") + b"\0"
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise EngineFailed("eSpeak не смог озвучить фразу.", f"espeak_Synth returned {status}")
        return self.collector


_LOCK = threading.Lock()
_library: _Library | None = None


def _get_library() -> _Library:
    """Load and initialise eSpeak NG once per process (caller holds ``_LOCK``)."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


def _phoneme_marks(events: list[tuple[str, int]], duration: float) -> tuple[PhonemeMark, ...]:
    """Turn (name, ms) events into marks that end where the next event starts; pauses dropped."""
    marks: list[PhonemeMark] = []
    for i, (name, position_ms) in enumerate(events):
        if not name or name.startswith("_"):
            continue
        start = min(position_ms / 1000.0, duration)
        end = min(events[i + 1][1] / 1000.0, duration) if i + 1 < len(events) else duration
        if end > start:
            marks.append(PhonemeMark(name, start, end))
    return tuple(marks)


class EspeakSettings(EngineSettings):
    engine: Literal["espeak"] = "espeak"
    voice: str = "ru"
    rate_wpm: int = Field(165, ge=80, le=450)
    pitch: int = Field(50, ge=0, le=99)


class EspeakTTS(TTSEngine):
    """Russian eSpeak NG voice; fast and robotic, always available on a CPU install."""

    name = "espeak"
    settings_class = EspeakSettings
    info = EngineInfo(label_ru="eSpeak NG (самый лёгкий)", heavy=False, vram_mb=0)
    capabilities = TTSCapabilities(phonemes=True)

    def __init__(self, settings: EspeakSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self._sample_rate: int | None = None

    @classmethod
    def availability(cls, settings: EspeakSettings, models_dir: Path) -> str | None:
        try:
            _open_library()
        except OSError:
            return "не установлена библиотека libespeak-ng (apt-get install libespeak-ng1 espeak-ng-data)"
        return None

    @property
    def sample_rate(self) -> int:
        if self._sample_rate is None:
            self.load()
        return self._sample_rate

    def load(self) -> None:
        """Initialise the shared eSpeak NG library and check that the voice exists."""
        with _LOCK:
            library = _get_library()
            library.configure(self.settings)
            self._sample_rate = library.sample_rate

    def close(self) -> None:
        """Nothing to release: the library is shared by the whole process and stays loaded."""

    def synthesize_sentence(self, text: str) -> AudioChunk:
        """Synthesise one normalised sentence (blocking, serialised with other eSpeak engines)."""
        if not any(ch.isalnum() for ch in text):
            raise InputError("Текст пуст: нечего произносить.", "Nothing speakable for eSpeak.", code="empty_text")
        with _LOCK:
            library = _get_library()
            library.configure(self.settings)
            collected = library.synthesize(text)
            rate = self._sample_rate = library.sample_rate
        samples = (np.concatenate(collected.chunks).astype(np.float32) / 32768.0 if collected.chunks
                   else np.zeros(0, dtype=np.float32))
        return AudioChunk(samples, rate, text, _phoneme_marks(collected.events, len(samples) / rate))
