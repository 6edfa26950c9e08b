"""Silero voice activity detection (v6, ONNX) run with onnxruntime directly, no torch.

The weights ship inside faster-whisper (``faster_whisper/assets/silero_vad_v6.onnx``), so nothing
is downloaded. That export differs from the upstream silero file:

* ``input``  float32 ``[n_windows, 576]``: each row is one 32 ms window of 512 samples at 16 kHz
  with the last 64 samples of the previous window prepended (zeros before the first window);
* ``h``, ``c`` float32 ``[1, 1, 128]``: the LSTM state; the rows of ``input`` are fed through the
  LSTM as one sequence, so one call over N windows equals N calls of one window with the state
  carried (the vectorised path is exact, not an approximation);
* outputs ``speech_probs`` ``[n_windows]`` and the new ``hn``, ``cn``. There is no ``sr`` input:
  the model is 16 kHz only.

:class:`SileroVAD` keeps the streaming state (h, c and the 64-sample context) between calls.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ai_pipeline.engine import packaged_file
from ai_pipeline.errors import EngineUnavailable, InputError

SAMPLE_RATE = 16_000
WINDOW = 512  # samples per decision: 32 ms
CONTEXT = 64  # samples of the previous window prepended to each window
WINDOW_S = WINDOW / SAMPLE_RATE
MODEL_FILE = "assets/silero_vad_v6.onnx"  # inside the faster_whisper package
_STATE_SHAPE = (1, 1, 128)
_MAX_BATCH = 4096  # windows per ONNX call (about 131 s of audio)
_INSTALL = "pip install faster-whisper==1.2.1"


def bundled_model_path() -> Path:
    """Path of the silero VAD weights shipped with faster-whisper (the package is not imported)."""
    return packaged_file("faster_whisper", MODEL_FILE, _INSTALL, "Детектор речи недоступен")


class SileroVAD:
    """Speech probability per 32 ms window of 16 kHz mono float32 audio (thread-safe).

    ``probability`` and ``probabilities(..., stream=True)`` continue one audio stream: they carry
    the LSTM state and the context from call to call until :meth:`reset`.
    """

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise EngineUnavailable("Детектор речи недоступен: не установлен onnxruntime.",
                                    f"onnxruntime is not installed; {_INSTALL}") from None
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # a tiny model: more threads only add overhead
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(self.model_path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        names = sorted(i.name for i in self._session.get_inputs())
        if names != ["c", "h", "input"]:
            raise EngineUnavailable("Детектор речи: неподходящий файл модели.",
                                    f"{self.model_path}: expected inputs input/h/c, got {names}")
        self._lock = threading.Lock()
        self.reset()

    def clone(self) -> SileroVAD:
        """A detector for another stream: shares the loaded model (ONNX sessions are thread-safe),
        has its own state. Load one in the lifespan and clone it per conversation."""
        other = object.__new__(SileroVAD)
        other.model_path, other._session, other._lock = self.model_path, self._session, threading.Lock()
        other.reset()
        return other

    def describe(self) -> dict[str, object]:
        """The model file and its ONNX inputs/outputs with their shapes (for health checks)."""
        return {"model": str(self.model_path),
                "inputs": {i.name: list(i.shape) for i in self._session.get_inputs()},
                "outputs": {o.name: list(o.shape) for o in self._session.get_outputs()}}

    def reset(self) -> None:
        """Forget the stream: zero LSTM state and context."""
        with self._lock:
            self._h = np.zeros(_STATE_SHAPE, np.float32)
            self._c = np.zeros(_STATE_SHAPE, np.float32)
            self._context = np.zeros(CONTEXT, np.float32)

    def probability(self, window: np.ndarray) -> float:
        """Speech probability of the next 512-sample window of the stream."""
        window = mono_float32(window)
        if window.size != WINDOW:
            raise InputError("Окно детектора речи должно содержать 512 отсчётов.",
                             f"Expected a {WINDOW}-sample window, got {window.size}.")
        return float(self.probabilities(window, stream=True)[0])

    def probabilities(self, samples: np.ndarray, *, stream: bool = False) -> np.ndarray:
        """One probability per complete 32 ms window of ``samples`` (a trailing partial window is
        left out). ``stream=False`` analyses a clip on its own, leaving the stream state alone;
        ``stream=True`` continues the stream (then pass whole windows and keep the rest)."""
        samples = mono_float32(samples)
        n = samples.size // WINDOW
        if n == 0:
            return np.zeros(0, np.float32)
        windows = samples[: n * WINDOW].reshape(n, WINDOW)
        with self._lock:
            if stream:
                h, c, context = self._h, self._c, self._context
            else:
                h, c = np.zeros(_STATE_SHAPE, np.float32), np.zeros(_STATE_SHAPE, np.float32)
                context = np.zeros(CONTEXT, np.float32)
            contexts = np.empty((n, CONTEXT), np.float32)
            contexts[0] = context
            contexts[1:] = windows[:-1, -CONTEXT:]
            rows = np.concatenate([contexts, windows], axis=1)
            out = []
            for i in range(0, n, _MAX_BATCH):
                probs, h, c = self._session.run(None, {"input": rows[i:i + _MAX_BATCH], "h": h, "c": c})
                out.append(np.asarray(probs, np.float32).reshape(-1))
            if stream:
                self._h, self._c, self._context = h, c, windows[-1, -CONTEXT:].copy()
        return np.concatenate(out)

    def trim_silence(self, samples: np.ndarray, *, threshold: float = 0.5,
                     pad_ms: float = 100.0) -> tuple[int, int]:
        """Sample range ``(start, end)`` from the first to the last speech window, widened by
        ``pad_ms`` each side; ``(0, 0)`` when nothing in the clip is speech. Cutting silence off a
        recording before ASR saves the recogniser the time it would spend on it."""
        samples = mono_float32(samples)
        speech = np.flatnonzero(self.probabilities(samples) >= threshold)
        if speech.size == 0:
            return 0, 0
        pad = int(round(pad_ms * SAMPLE_RATE / 1000))
        start = max(0, int(speech[0]) * WINDOW - pad)
        end = min(samples.size, (int(speech[-1]) + 1) * WINDOW + pad)
        return start, end


def mono_float32(samples: np.ndarray) -> np.ndarray:
    """16 kHz mono audio as contiguous float32 (int16 scaled); anything else is an ``InputError``."""
    samples = np.asarray(samples)
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise InputError("Ожидается моно-звук.", f"Expected mono audio, got shape {samples.shape}.")
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    if not np.issubdtype(samples.dtype, np.floating):
        raise InputError("Ожидается звук в формате float32.", f"Expected float32 samples, got {samples.dtype}.")
    return np.ascontiguousarray(samples, dtype=np.float32)
