"""Festival TTS with the Russian ``voice_msu_ru_nsh_clunits`` voice (festvox-ru), 16 kHz mono.

One persistent ``festival --pipe`` process per engine is fed Scheme on stdin, so the voice loads
once (about 1.3 s) and a short sentence then takes tens of milliseconds. After each utterance the
process writes the wave (RIFF) and the segment labels to files in a private temporary folder and
prints a marker line that is flushed explicitly, because a piped stdout is block-buffered. Errors
inside Festival are caught with ``unwind-protect`` and reported by an error marker. A dead process
is restarted; a process that misses the timeout is killed and :class:`EngineFailed` is raised.

Phonemes come from the utterance's Segment relation (the msu_ru phone set). Silence (``pau``) is
not listed: gaps between marks are silence. Stressed vowels are doubled, palatalised consonants
are doubled, so the first letter names the sound class:

* vowels: stressed ``aa ee ii oo uu yy``; reduced ``a e i y u``; second-level ``ae ay ur``
* bilabials ``p pp b bb m mm``; labiodentals ``f ff v vv``
* other consonants ``t tt d dd k kk g gg c`` (ц) ``ch`` (ч) ``s ss z zz sh`` (ш) ``sch`` (щ)
  ``zh`` (ж) ``h hh`` (х) ``n nn l ll r rr j`` (й)
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from ai_pipeline.chunks import AudioChunk, PhonemeMark
from ai_pipeline.engine import EngineInfo, EngineSettings
from ai_pipeline.errors import EngineFailed, EngineUnavailable, InputError
from ai_pipeline.tts.base import TTSCapabilities, TTSEngine

SAMPLE_RATE = 16_000  # msu_ru_nsh; the rate of each wave Festival writes is read back from it
_MARKER = "@@avatar"
_SILENCES = {"pau", "#"}
_LOAD_TIMEOUT_S = 60.0


def festival_text(text: str) -> str:
    """Reduce normalised text to what the msu_ru tokenizer accepts, escaped for a Scheme string.

    Its letter-to-sound rules fail on any token that is pure punctuation ("—", "…", " , "), on
    punctuation inside a token ("И.И.", "да!нет") and on letters outside Cyrillic and Latin, so
    those are removed or split; an ellipsis becomes a comma (a pause).
    """
    text = re.sub(r"…|\.{2,}", ",", text)
    text = re.sub(r"[^а-яёА-ЯЁa-zA-Z0-9\s.,!?;:'-]", " ", text)
    text = re.sub(r"(?<![^\W_])'|'(?![^\W_])|(?<![^\W_])-|-(?![^\W_])", " ", text)  # only inside words
    text = re.sub(r"([.,!?;:])(?=[^\s.,!?;:])", r"\1 ", text)
    text = re.sub(r"([.,!?;:])[\s.,!?;:]*[.,!?;:]", r"\1", text)
    return _scheme_string(" ".join(t for t in text.split() if re.search(r"[а-яёА-ЯЁa-zA-Z0-9]", t)))


def _scheme_string(text: str) -> str:
    """Escape text for the inside of a Scheme string literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


class FestivalSettings(EngineSettings):
    engine: Literal["festival"] = "festival"
    voice: str = "voice_msu_ru_nsh_clunits"
    festival_bin: str = "festival"
    timeout_s: float = Field(30.0, gt=0)


class FestivalTTS(TTSEngine):
    """Russian Festival voice driven through one long-lived process (thread-safe)."""

    name = "festival"
    settings_class = FestivalSettings
    info = EngineInfo(label_ru="Festival (встроенный голос)", heavy=False, fallback="espeak", vram_mb=0)
    capabilities = TTSCapabilities(phonemes=True)

    def __init__(self, settings: FestivalSettings | None = None, models_dir: str | Path | None = None) -> None:
        super().__init__(settings, models_dir)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._pending = b""
        self._log: list[str] = []
        self._serial = 0
        self._sample_rate = SAMPLE_RATE

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @classmethod
    def availability(cls, settings: FestivalSettings, models_dir: Path) -> str | None:
        if shutil.which(settings.festival_bin) is None:
            return f"не найдена программа {settings.festival_bin} (apt-get install festival festvox-ru)"
        return None

    @property
    def pid(self) -> int | None:
        """Process id of the running Festival, if any (for monitoring and tests)."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def load(self) -> None:
        """Start Festival and load the voice (blocking, about 1.5 s)."""
        with self._lock:
            self._ensure_running()

    def close(self) -> None:
        """Stop the Festival process and delete its temporary files."""
        with self._lock:
            self._stop()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def synthesize_sentence(self, text: str) -> AudioChunk:
        """Synthesise one normalised sentence; restarts Festival once if it died."""
        scheme_text = festival_text(text)
        if not re.search(r"\w", scheme_text):
            raise InputError("Текст пуст: нечего произносить.", "Nothing speakable for Festival.", code="empty_text")
        with self._lock:
            for attempt in (1, 2):
                self._ensure_running()
                try:
                    samples, marks = self._synthesize(scheme_text)
                    break
                except (BrokenPipeError, _ProcessDied):
                    self._stop()
                    if attempt == 2:
                        raise EngineFailed("Синтезатор речи Festival аварийно завершился.",
                                           f"Festival died twice in a row: {self._tail()}") from None
        return AudioChunk(samples, self._sample_rate, text, marks)

    # -- process management (caller holds the lock) ------------------------------------------------

    def _ensure_running(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._stop()
        binary = shutil.which(self.settings.festival_bin)
        if binary is None:
            raise EngineUnavailable("Festival не установлен.",
                                    f"'{self.settings.festival_bin}' not found; apt-get install festival festvox-ru")
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="avatar-festival-"))
        self._process = subprocess.Popen([binary, "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, cwd=self._workdir)
        self._pending, self._log = b"", []
        voice = re.sub(r"[^\w]", "", self.settings.voice)
        try:
            warm_up = f'({voice}) (SynthText "Проверка связи.")'  # first utterance pays lazy loading
            if not self._run(warm_up, max(_LOAD_TIMEOUT_S, self.settings.timeout_s)):
                self._stop()
                raise EngineUnavailable(f"Голос Festival «{voice}» не загрузился.",
                                        f"Festival could not load {voice}: {self._tail()}")
        except (EngineFailed, BrokenPipeError, _ProcessDied) as exc:
            self._stop()
            raise EngineUnavailable("Festival не запустился.", f"Festival failed to start: {exc}") from None

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        process.kill()
        process.wait()

    # -- one request ---------------------------------------------------------------------------------

    def _synthesize(self, scheme_text: str) -> tuple[np.ndarray, tuple[PhonemeMark, ...]]:
        wav_path, segs_path = self._workdir / "utt.wav", self._workdir / "utt.segs"
        for path in (wav_path, segs_path):
            path.unlink(missing_ok=True)
        wav_name, segs_name = _scheme_string(str(wav_path)), _scheme_string(str(segs_path))
        body = (f'(let ((utt (SynthText "{scheme_text}"))) '
                f'(utt.save.wave utt "{wav_name}" \'riff) (utt.save.segs utt "{segs_name}"))')
        if not self._run(body, self.settings.timeout_s):
            raise EngineFailed("Festival не смог озвучить фразу.", f"Festival error: {self._tail()}")
        with wave.open(str(wav_path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise EngineFailed("Festival вернул звук в неожиданном формате.",
                                   f"Expected 16-bit mono, got {wav.getsampwidth() * 8}-bit x{wav.getnchannels()}")
            self._sample_rate = wav.getframerate()
            raw = wav.readframes(wav.getnframes())
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        return samples, _read_segments(segs_path, len(samples) / self._sample_rate)

    def _run(self, form: str, timeout_s: float) -> bool:
        """Evaluate one Scheme form; True if it finished without an error."""
        self._serial += 1
        done = f"{_MARKER} {self._serial}"
        command = (f'(unwind-protect (begin {form} (format t "{done} ok\\n")) (format t "{done} err\\n"))'
                   "\n(fflush nil)\n")
        self._log = []
        self._process.stdin.write(command.encode("utf-8"))
        self._process.stdin.flush()
        return self._wait_for(done, timeout_s) == "ok"

    def _wait_for(self, done: str, timeout_s: float) -> str:
        """Read Festival's output until the marker line; return its status word."""
        deadline = time.monotonic() + timeout_s
        fd = self._process.stdout.fileno()
        while True:
            while b"\n" in self._pending:
                raw, self._pending = self._pending.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith(done + " "):
                    return line.rsplit(" ", 1)[1]
                if line and not line.startswith(_MARKER):
                    self._log = [*self._log[-20:], line]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._stop()
                raise EngineFailed("Festival не ответил вовремя.",
                                   f"Festival timed out after {timeout_s} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise _ProcessDied()
            self._pending += chunk

    def _tail(self) -> str:
        return " | ".join(self._log[-5:]) or "no output"


class _ProcessDied(Exception):
    """Festival's stdout closed: the process exited."""


def _read_segments(path: Path, duration: float) -> tuple[PhonemeMark, ...]:
    """Parse ``utt.save.segs`` output ("end_time 100 name" lines after a "#") into marks."""
    marks: list[PhonemeMark] = []
    start = 0.0
    body = path.read_text(encoding="utf-8", errors="replace").split("#", 1)[-1]
    for line in body.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        end = min(float(fields[0]), duration)
        if fields[2] not in _SILENCES and end > start:
            marks.append(PhonemeMark(fields[2], start, end))
        start = max(start, end)
    return tuple(marks)
