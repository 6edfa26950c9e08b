"""Smart Turn v3.2: is the user's turn complete, judged from the sound of its last 8 seconds.

A small Whisper-encoder classifier (BSD-2, by Daily) that hears intonation and wording, so a pause
in the middle of a sentence («Если завтра будет дождь, …») can be told from the end of one. The
quantised CPU export ships inside the ``pipecat-ai`` wheel
(``pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx``); the wheel is installed with
``--no-deps`` only for that file and pipecat is never imported.

The model's contract:

* ``input_features`` float32 ``[batch, 80, 800]``: Whisper log-mel features of exactly 8 s of 16 kHz
  audio: the LAST 8 s of the turn, zeros prepended when the turn is shorter;
* the features are those of ``transformers.WhisperFeatureExtractor(chunk_length=8)`` with
  ``do_normalize=True``: the 8 s waveform is first brought to zero mean and unit variance (over all
  128 000 samples, padding included), then a centred STFT (400-sample periodic Hann window, hop 160,
  reflect padding; the last frame dropped), power spectrum, 80 Slaney mel filters over 0-8 kHz,
  ``log10`` floored at 1e-10, clipped to 8 below the maximum, and scaled as ``(x + 4) / 4``;
* ``logits`` float32 ``[batch, 1]``: despite the name, already a probability (a sigmoid ends the
  graph) that the turn is complete.

Thresholds are the caller's business: this module only answers the probability.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ai_pipeline.asr.vad import mono_float32
from ai_pipeline.engine import packaged_file
from ai_pipeline.errors import EngineUnavailable

SAMPLE_RATE = 16_000
WINDOW_S = 8  # the model hears the last 8 s of the turn
WINDOW = WINDOW_S * SAMPLE_RATE
MODEL_FILE = "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"  # inside the pipecat package
_INSTALL = "pip install --no-deps pipecat-ai==1.14.0"

N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = WINDOW // HOP  # 800: the STFT gives one more, the last is dropped


def bundled_model_path() -> Path:
    """Path of the Smart Turn v3.2 CPU weights shipped in the pipecat-ai wheel (not imported)."""
    return packaged_file("pipecat", MODEL_FILE, _INSTALL, "Определение конца реплики недоступно")


def _slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, np.float64)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz < 1000.0, hz * 3.0 / 200.0, log_part)


def _slaney_hz(mel: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_slaney_mel`."""
    mel = np.asarray(mel, np.float64)
    return np.where(mel < 15.0, mel * 200.0 / 3.0, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0))


def mel_filter_bank() -> np.ndarray:
    """``[N_MELS, N_FFT // 2 + 1]`` triangular filters, equally spaced in Slaney mels over 0-8 kHz,
    each scaled to unit area (Slaney normalisation), as Whisper uses."""
    edges = _slaney_hz(np.linspace(_slaney_mel(0.0), _slaney_mel(SAMPLE_RATE / 2), N_MELS + 2))
    bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    bank = np.clip(np.minimum(rising, falling), 0.0, None)
    return bank * (2.0 / (upper - lower))


_MEL_BANK = mel_filter_bank()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT))  # periodic, as torch.hann_window


def last_window(samples: np.ndarray) -> np.ndarray:
    """The last 8 s of ``samples``, zeros prepended when shorter (float32, ``WINDOW`` samples)."""
    samples = mono_float32(samples)
    if samples.size >= WINDOW:
        return samples[samples.size - WINDOW:].copy()
    out = np.zeros(WINDOW, np.float32)
    out[WINDOW - samples.size:] = samples
    return out


def log_mel_features(window: np.ndarray) -> np.ndarray:
    """Whisper log-mel features ``[80, 800]`` float32 of an 8 s window (see the module docstring)."""
    x = np.asarray(window, np.float32)
    if x.shape != (WINDOW,):
        raise ValueError(f"expected {WINDOW} samples, got shape {x.shape}")
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))  # float32, as the reference does
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:FRAMES]
    spectrum = np.fft.rfft(frames * _HANN, axis=1)
    power = spectrum.real ** 2 + spectrum.imag ** 2  # [800, 201]
    log_mel = np.log10(np.maximum(_MEL_BANK @ power.T, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    return ((log_mel + 4.0) / 4.0).astype(np.float32)


class SmartTurn:
    """Probability that a user's turn is complete, from its audio (16 kHz mono float32).

    Thread-safe: the features are computed per call and one onnxruntime session serves concurrent
    calls. One intra-op thread by default: a call takes about 0.11 s on one core of a small 2-core
    machine (scripts/bench_turn_detect.py), two threads were slower there, and more threads would
    take cores from the recogniser and the TTS running beside it.
    """

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        if model_path is not None and not Path(model_path).is_file():
            raise EngineUnavailable("Определение конца реплики недоступно: нет файла модели.",
                                    f"{model_path} is missing; {_INSTALL}")
        try:
            import onnxruntime
        except ImportError:
            raise EngineUnavailable("Определение конца реплики недоступно: не установлен onnxruntime.",
                                    "onnxruntime is not installed; pip install onnxruntime") from None
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        self.threads = threads
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(self.model_path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        inputs = {i.name: i.shape[1:] for i in self._session.get_inputs()}
        if inputs != {"input_features": [N_MELS, FRAMES]}:
            raise EngineUnavailable("Определение конца реплики: неподходящий файл модели.",
                                    f"{self.model_path}: expected input_features [n, 80, 800], got {inputs}")
        self._output = self._session.get_outputs()[0].name

    def describe(self) -> dict[str, object]:
        """The model file, its ONNX inputs/outputs and the thread count (for health checks)."""
        return {"model": str(self.model_path), "threads": self.threads, "window_s": WINDOW_S,
                "inputs": {i.name: list(i.shape) for i in self._session.get_inputs()},
                "outputs": {o.name: list(o.shape) for o in self._session.get_outputs()}}

    def probability(self, samples: np.ndarray) -> float:
        """Probability in [0, 1] that the turn whose audio so far is ``samples`` (16 kHz mono, any
        length; the trailing silence the caller has waited included) is complete."""
        features = log_mel_features(last_window(samples))[None]
        (out,) = self._session.run([self._output], {"input_features": features})
        return float(np.asarray(out).reshape(-1)[0])
