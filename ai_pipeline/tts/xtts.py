"""Coqui XTTS-v2 (``coqui-tts``): zero-shot voice cloning at 24 kHz, the heavy (GPU) TTS engine.

The model is a local checkpoint folder in the layout published as ``coqui/XTTS-v2`` (``config.json``,
``model.pth``, ``vocab.json``; ``speakers_xtts.pth`` adds built-in speakers), filled by
``scripts/download_models.py --only xtts-v2``. Nothing is ever downloaded at run time.

Cloning: the speaker conditioning (GPT conditioning latents + the decoder's speaker embedding) is
computed once per voice version from its prepared utterances (:meth:`XttsTTS.prepare_voice`) and
cached next to them as ``xtts_latents.pt``, tagged with a fingerprint of the checkpoint; later
syntheses load the cache. A voice version made by ``scripts/train_voice.py`` carries its fine-tuned
GPT (``xtts_gpt.pth``); it is swapped into the loaded model while that voice speaks.

Text front end: the shared normaliser has already expanded numbers and abbreviations; here
silero-stress restores ``ё`` and, when the checkpoint's vocabulary has the combining acute accent,
marks stress (``accents: auto``). The stock XTTS-v2 Russian is trained without stress marks, so an
unknown mark would only become an ``[UNK]`` token; a model fine-tuned on marked text gets them.
Sentences longer than the tokenizer's Russian limit are split at commas or spaces.

No phoneme timings: the talking head drives the mouth from loudness and spectrum.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk
from ai_pipeline.engine import EngineInfo, EngineSettings, cuda_missing, missing_files, missing_package, under_models
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.tts.base import Progress, TTSCapabilities, TTSEngine
from ai_pipeline.tts.russian_accents import ACUTE, RussianAccents
from ai_pipeline.voice.base import Voice

INSTALL = ("pip install coqui-tts==0.28.0 torchcodec==0.12.0 silero-stress==1.5 && "
           "pip install --no-deps \"$(python scripts/torchaudio_wheel.py)\"")
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
LATENTS_FILE = "xtts_latents.pt"  # in the voice version folder
TRAINED_GPT_FILE = "xtts_gpt.pth"  # a fine-tuned GPT state dict, written by scripts/train_voice.py
LATENTS_FORMAT = 1
SAMPLE_RATE = 24_000
CODES_PER_S = 22_050 / 1024  # GPT audio tokens per second of speech
MAX_S_PER_CHAR, MIN_S = 0.2, 2.0  # generation bound: no sentence babbles on past this
VRAM_MB = 3000  # declared to the GPU budget by default (fp32 weights ~1.9 GB + working memory)
DOWNLOAD = "python scripts/download_models.py --only xtts-v2"

log = logging.getLogger(__name__)


def split_long(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at commas where possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind(", ", 0, limit), rest.rfind("; ", 0, limit), rest.rfind(": ", 0, limit))
        cut = cut + 1 if cut > limit // 3 else rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return [p for p in [*pieces, rest] if p]


class XttsSettings(EngineSettings):
    """Coqui XTTS-v2 (GPU): zero-shot cloning of an enrolled voice (ai_pipeline/tts/xtts.py).

    ``model_dir`` is relative to ``models_dir`` (filled by ``scripts/download_models.py --only
    xtts-v2``). Sampling options left at None take the checkpoint's config.json values. ``accents``:
    ``auto`` restores ё and adds stress marks when the model's vocabulary has them, ``marks``/``yo``
    force either, ``off`` passes the text as is. ``speaker`` is a built-in speaker (speakers_xtts.pth)
    for speech without an enrolled voice.
    """

    engine: Literal["xtts"] = "xtts"
    model_dir: Path = Path("xtts_v2")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    language: str = "ru"
    temperature: float | None = Field(None, gt=0.0, le=2.0)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    repetition_penalty: float | None = Field(None, ge=1.0)
    speed: float = Field(1.0, ge=0.5, le=2.0)
    reference_s: float = Field(30.0, ge=3.0, le=300.0)  # prepared speech used for the conditioning latents
    accents: Literal["auto", "marks", "yo", "off"] = "auto"
    speaker: str = "Claribel Dervla"
    vram_mb: int = Field(VRAM_MB, ge=256)  # declared to the GPU budget


class XttsTTS(TTSEngine):
    """XTTS-v2 through coqui-tts; one model per process, thread-safe (one synthesis at a time)."""

    name = "xtts"
    settings_class = XttsSettings
    info = EngineInfo(label_ru="XTTS-v2 (клонирование голоса, видеокарта)", heavy=True, fallback="rhvoice",
                      vram_mb=VRAM_MB)
    capabilities = TTSCapabilities(phonemes=False, voice_cloning=True)

    def __init__(self, settings: XttsSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        if models_dir is None:
            from ai_pipeline.settings import Settings

            models_dir = Settings.model_fields["models_dir"].default
        self.model_dir = under_models(self.settings.model_dir, models_dir)
        self.device = "cpu"
        self._model: Any = None
        self._config: Any = None
        self._slot: Any = None
        self._lock = threading.RLock()
        self._latents: dict[str, tuple[Any, Any]] = {}  # voice key -> (gpt_cond_latent, speaker_embedding)
        self._accents: RussianAccents | None = None
        self._marks = False
        self._fingerprint = ""
        self._active_gpt: Path | None = None  # the fine-tuned GPT now in the model (None: the base one)
        self._base_gpt: dict[str, Any] | None = None

    @classmethod
    def availability(cls, settings: XttsSettings, models_dir: Path) -> str | None:
        return (missing_package("TTS", "torch")
                or missing_files(under_models(settings.model_dir, models_dir), REQUIRED_FILES, DOWNLOAD)
                or cuda_missing(settings.device))

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def loaded(self) -> bool:
        return self._model is not None

    # -- loading ----------------------------------------------------------------------------------

    def load(self) -> None:
        """Build the model from the checkpoint folder (blocking: ~10 s and ~2 GB for XTTS-v2)."""
        with self._lock:
            if self._model is not None:
                return
            missing = [name for name in REQUIRED_FILES if not (self.model_dir / name).is_file()]
            if missing:
                raise EngineUnavailable(
                    f"Модель XTTS-v2 не скачана: запустите {DOWNLOAD}.",
                    f"{self.model_dir} lacks {', '.join(missing)}")
            try:
                from TTS.tts.configs.xtts_config import XttsConfig
                from TTS.tts.models.xtts import Xtts
            except ImportError as exc:
                raise EngineUnavailable("Не установлен движок XTTS (coqui-tts).",
                                        f"cannot import coqui-tts: {exc}; {INSTALL}") from None
            self.device = self._pick_device()
            started = time.perf_counter()
            config = XttsConfig()
            config.load_json(str(self.model_dir / "config.json"))
            model = Xtts(config)
            try:
                model.load_checkpoint(config, checkpoint_dir=str(self.model_dir), eval=True)
            except (RuntimeError, KeyError, ValueError, OSError) as exc:
                raise EngineUnavailable("Не удалось загрузить модель XTTS-v2.",
                                        f"XTTS checkpoint {self.model_dir} failed to load: {exc}") from exc
            if self.settings.language not in config.languages:
                raise EngineUnavailable(f"Модель XTTS не поддерживает язык «{self.settings.language}».",
                                        f"language {self.settings.language!r} not in {config.languages}")
            self._config, self._model = config, model
            self._fingerprint = self._checkpoint_fingerprint()
            vocab = model.tokenizer.tokenizer
            has_acute = vocab is not None and vocab.token_to_id(ACUTE) is not None
            mode = self.settings.accents
            self._marks = mode == "marks" or (mode == "auto" and has_acute)
            if mode != "off" and self.settings.language == "ru":
                self._accents = RussianAccents()
                self._accents.load()
            if self.device != "cpu":
                from ai_pipeline.gpu import gpu_manager

                manager = gpu_manager()
                try:
                    self._slot = manager.register(self.name, self, estimate_mb=self.settings.vram_mb)
                except ValueError:  # another instance (a training's validation, a second pipeline) holds the name
                    self._slot = manager.register(f"{self.name}-{id(self):x}", self, estimate_mb=self.settings.vram_mb)
            log.info("XTTS loaded from %s in %.1f s (device %s, stress marks %s)", self.model_dir,
                     time.perf_counter() - started, self.device, "on" if self._marks else "off")

    def _pick_device(self) -> str:
        if self.settings.device == "cpu":
            return "cpu"
        from ai_pipeline.gpu import gpu_manager

        device = gpu_manager().device
        if self.settings.device == "cuda" and not device.startswith("cuda"):
            raise EngineUnavailable("Для XTTS выбрана видеокарта, но CUDA недоступна.",
                                    "tts.device=cuda but no CUDA device is available")
        return device

    def _checkpoint_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in ("config.json", "vocab.json"):
            digest.update((self.model_dir / name).read_bytes())
        digest.update(str((self.model_dir / "model.pth").stat().st_size).encode())
        return digest.hexdigest()[:16]

    def gpu_load(self) -> None:
        self._model.to(self.device)

    def gpu_unload(self) -> None:
        self._model.to("cpu")

    def close(self) -> None:
        with self._lock:
            if self._slot is not None:
                from ai_pipeline.gpu import gpu_manager

                gpu_manager().unregister(self._slot.name)
                self._slot = None
            self._model = self._config = self._base_gpt = self._active_gpt = None
            self._latents.clear()

    def _on_device(self) -> contextlib.AbstractContextManager[Any]:
        return self._slot.use() if self._slot is not None else contextlib.nullcontext()

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "voice_cloning": True, "device": self.device,
                "model_dir": str(self.model_dir), "stress_marks": self._marks}

    # -- voices -----------------------------------------------------------------------------------

    def prepare_voice(self, voice: Voice, progress: Progress | None = None) -> dict[str, Any]:
        """Compute and cache the speaker conditioning of ``voice`` (blocking; seconds on a GPU)."""
        report = progress or (lambda fraction, message: None)
        self.load()
        report(0.1, "Расчёт образа голоса для XTTS")
        started = time.perf_counter()
        cached = self._read_latents(voice) is not None
        with self._lock:
            self._latents.pop(voice.key, None)
            self._conditioning(voice)
        report(0.95, "Образ голоса сохранён")
        return {"latents": str(voice.folder / LATENTS_FILE), "cached": cached,
                "fine_tuned": (voice.folder / TRAINED_GPT_FILE).is_file(),
                "latents_s": round(time.perf_counter() - started, 2)}

    def _conditioning(self, voice: Voice) -> tuple[Any, Any]:
        """(gpt_cond_latent, speaker_embedding) of ``voice``: memory, then the cache file, then computed."""
        found = self._latents.get(voice.key)
        if found is None:
            found = self._read_latents(voice) or self._compute_latents(voice)
            self._latents[voice.key] = found
        return found

    def _read_latents(self, voice: Voice) -> tuple[Any, Any] | None:
        import torch

        path = voice.folder / LATENTS_FILE
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return None
        if data.get("format") != LATENTS_FORMAT or data.get("checkpoint") != self._fingerprint:
            return None  # made with another checkpoint: compute again
        return data["gpt_cond_latent"], data["speaker_embedding"]

    def _compute_latents(self, voice: Voice) -> tuple[Any, Any]:
        import soundfile as sf
        import torch

        clips, total = [], 0.0
        for path in voice.prepared:
            samples, rate = sf.read(path, dtype="float32", always_2d=True)
            clips.append(torch.from_numpy(samples.mean(axis=1))[None])
            total += samples.shape[0] / rate
            if rate != SAMPLE_RATE:
                raise InputError("Записи голоса подготовлены в неверном формате.",
                                 f"{path} is {rate} Hz, expected {SAMPLE_RATE}", code="voice_not_ready")
            if total >= self.settings.reference_s:
                break
        if not clips:
            raise InputError("У голоса нет записей речи: добавьте образцы.", f"Voice {voice.key} has no utterances",
                             code="voice_not_ready")
        self._use_gpt(voice)
        model, config = self._model, self._config
        with self._on_device():
            speaker = torch.stack([model.get_speaker_embedding(clip, SAMPLE_RATE) for clip in clips]).mean(dim=0)
            gpt_latent = model.get_gpt_cond_latents(torch.cat(clips, dim=-1), SAMPLE_RATE,
                                                    length=int(config.gpt_cond_len),
                                                    chunk_length=int(config.gpt_cond_chunk_len))
        latents = (gpt_latent.detach().cpu(), speaker.detach().cpu())
        path = voice.folder / LATENTS_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"format": LATENTS_FORMAT, "checkpoint": self._fingerprint, "reference_s": round(total, 2),
                    "gpt_cond_latent": latents[0], "speaker_embedding": latents[1]}, tmp)
        tmp.replace(path)
        return latents

    def _use_gpt(self, voice: Voice | None) -> None:
        """Put the voice's fine-tuned GPT into the model (or the base GPT back)."""
        import torch

        wanted = voice.folder / TRAINED_GPT_FILE if voice is not None else None
        if wanted is not None and not wanted.is_file():
            wanted = None
        if wanted == self._active_gpt:
            return
        gpt = self._model.gpt
        if self._base_gpt is None:
            self._base_gpt = {k: v.detach().to("cpu", copy=True) for k, v in gpt.state_dict().items()}
        state = self._base_gpt if wanted is None else torch.load(wanted, map_location="cpu", weights_only=True)
        if "gpt.wte.weight" not in state and "mel_embedding.weight" in state:
            # files exported before the tie was written: the inference GPT's input embedding is mel_embedding
            state = {**state, "gpt.wte.weight": state["mel_embedding.weight"]}
        # strict=False: a trained file has no keys for the inference wrapper, which shares these weights
        result = gpt.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith("gpt_inference.")]
        if result.unexpected_keys or missing:
            self._active_gpt = None
            gpt.load_state_dict(self._base_gpt, strict=False)
            raise EngineFailed("Обученная модель голоса не подходит к XTTS.",
                               f"{wanted}: {len(missing)} missing, {len(result.unexpected_keys)} unexpected keys")
        self._active_gpt = wanted

    def _builtin_speaker(self) -> tuple[Any, Any]:
        manager = getattr(self._model, "speaker_manager", None)
        speakers = manager.speakers if manager is not None else {}
        if self.settings.speaker not in speakers:
            raise InputError("Для XTTS выберите голос: встроенного голоса в модели нет.",
                             f"no voice given and speaker {self.settings.speaker!r} not in speakers_xtts.pth",
                             code="voice_required")
        entry = speakers[self.settings.speaker]
        return entry["gpt_cond_latent"], entry["speaker_embedding"]

    # -- synthesis --------------------------------------------------------------------------------

    def front_end(self, text: str) -> str:
        """What the model reads: ``ё`` restored, stress marked when the vocabulary takes it."""
        if self._accents is None:
            return text
        return self._accents.apply(text, marks=self._marks)

    def synthesize_sentence(self, text: str) -> AudioChunk:
        return self.synthesize_voiced(text, None)

    def synthesize_voiced(self, text: str, voice: Voice | None) -> AudioChunk:
        """One normalised sentence in ``voice`` (or the built-in speaker), 24 kHz float32."""
        import torch

        self.load()
        spoken = self.front_end(text)
        with self._lock:
            self._use_gpt(voice)
            gpt_latent, speaker = self._conditioning(voice) if voice is not None else self._builtin_speaker()
            limit = self._model.tokenizer.char_limits.get(self.settings.language, 250)
            pieces = []
            try:
                with self._on_device():
                    for piece in split_long(spoken, limit):
                        pieces.append(self._generate(piece, gpt_latent, speaker))
            except (RuntimeError, AssertionError, torch.cuda.OutOfMemoryError) as exc:
                raise EngineFailed("Синтез речи XTTS не удался.", f"XTTS failed on {text!r}: {exc}") from exc
        samples = np.clip(np.concatenate(pieces), -1.0, 1.0).astype(np.float32)
        return AudioChunk(samples, SAMPLE_RATE, text)

    def _generate(self, text: str, gpt_latent: Any, speaker: Any) -> np.ndarray:
        config, settings = self._config, self.settings
        speakable = re.sub(r"[^\w]", "", text.replace(ACUTE, ""))
        max_tokens = int((MIN_S + MAX_S_PER_CHAR * len(speakable)) * CODES_PER_S)
        out = self._model.inference(
            text, settings.language, gpt_latent, speaker,
            temperature=settings.temperature if settings.temperature is not None else config.temperature,
            length_penalty=config.length_penalty,
            repetition_penalty=(settings.repetition_penalty if settings.repetition_penalty is not None
                                else config.repetition_penalty),
            top_k=settings.top_k if settings.top_k is not None else config.top_k,
            top_p=settings.top_p if settings.top_p is not None else config.top_p,
            speed=settings.speed, enable_text_splitting=False,
            max_new_tokens=min(max_tokens, self._model.gpt.max_gen_mel_tokens),
        )
        return np.asarray(out["wav"], dtype=np.float32).reshape(-1)
