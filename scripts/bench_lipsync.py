"""``python scripts/bench.py lipsync``: LSE-D and LSE-C of talking-head clips, the lip-sync metrics of
Wav2Lip's evaluation (Prajwal et al. 2020), computed by SyncNet (joonson/syncnet_python,
``syncnet_v2.model``) the way its ``SyncNetInstance.evaluate`` does:

* audio: 16 kHz mono at int16 scale, 13 MFCCs every 10 ms (python_speech_features' ``mfcc`` defaults,
  re-implemented in :func:`mfcc`); video: 25 fps, the face crop resized to 224 x 224, BGR, 0..255;
* one lip window per video frame (frames v..v+4 against MFCC columns 4v..4v+19), both embedded;
* for each window the distance to the audio windows -15..+15 frames away (zero-padded past the ends),
  averaged over the clip per offset: the smallest mean is **LSE-D** (lower is better), its margin below
  the median over offsets is **LSE-C** (higher is better), and where it lies is the audio-video offset.

The embedding and the offset search are :mod:`ai_pipeline.talking_head.syncnet` (checked against
upstream by ``tests/golden/test_syncnet_golden.py``); this file adds the front ends. One deviation: the
face box comes from mediapipe's BlazeFace (the model the project ships), not S3FD, smoothed and cropped as
``run_pipeline.py`` does (median filter over 13 frames, crop scale 0.4, padding value 110). Numbers are
comparable between our clips and close to, not identical with, published tables.

Weights: ``<models_dir>/syncnet/syncnet_v2.model`` or ``--weights``. Without them the bench says so and
exits 0. ``--video`` scores given clips; without it the configured engines render the bench sentence.
``--control N`` also scores each clip with its audio delayed by N frames: the offset must move by -N.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ai_pipeline.settings import Settings
from ai_pipeline.talking_head.syncnet import WINDOW

SYNCNET_FILE = Path("syncnet") / "syncnet_v2.model"
FPS = 25
RATE = 16000
SAMPLES_PER_FRAME = RATE // FPS  # 640: four 10 ms MFCC columns per video frame
CROP = 224
CROP_SCALE = 0.4  # run_pipeline.py --crop_scale
SMOOTH = 13  # run_pipeline.py: medfilt kernel over the track's box size and centre
PAD_VALUE = 110
VSHIFT = 15


# -- audio: python_speech_features.mfcc with its defaults ------------------------------------------

def _mel_filters(nfilt: int = 26, nfft: int = 512, rate: int = RATE) -> np.ndarray:
    mels = np.linspace(0.0, 2595 * np.log10(1 + rate / 2 / 700.0), nfilt + 2)
    edges = np.floor((nfft + 1) * 700 * (10 ** (mels / 2595.0) - 1) / rate)
    bank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        lo, mid, hi = edges[j], edges[j + 1], edges[j + 2]
        rise, fall = np.arange(int(lo), int(mid)), np.arange(int(mid), int(hi))
        bank[j, rise] = (rise - lo) / (mid - lo)
        bank[j, fall] = (hi - fall) / (hi - mid)
    return bank


def mfcc(signal: np.ndarray, rate: int = RATE) -> np.ndarray:
    """(13, M) MFCCs at 100 Hz of ``signal`` (int16 scale): 25 ms rectangular frames, 512-point FFT,
    26 mel filters, pre-emphasis 0.97, lifter 22, coefficient 0 replaced by the log frame energy."""
    from scipy.fft import dct

    x = np.asarray(signal, np.float64)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    size, step = int(0.025 * rate), int(0.01 * rate)
    count = 1 if len(x) <= size else 1 + int(np.ceil((len(x) - size) / step))
    x = np.concatenate([x, np.zeros((count - 1) * step + size - len(x))])
    frames = x[np.arange(size)[None] + step * np.arange(count)[:, None]]
    power = np.abs(np.fft.rfft(frames, 512)) ** 2 / 512
    eps = np.finfo(float).eps
    energy = np.where(power.sum(1) == 0, eps, power.sum(1))
    bands = power @ _mel_filters(rate=rate).T
    feat = dct(np.log(np.where(bands == 0, eps, bands)), type=2, axis=1, norm="ortho")[:, :13]
    feat *= 1 + 11.0 * np.sin(np.pi * np.arange(13) / 22)
    feat[:, 0] = np.log(energy)
    return feat.T


# -- video: the face track, smoothed and cropped as run_pipeline.py does ----------------------------

def face_track(frames_rgb: list[np.ndarray]) -> np.ndarray:
    """(T, 3) half box size, centre x, centre y per frame: BlazeFace boxes, gaps filled, median-filtered."""
    from scipy.signal import medfilt

    from ai_pipeline.talking_head.landmarks import detect_faces

    boxes = np.full((len(frames_rgb), 3), np.nan)
    for i, frame in enumerate(frames_rgb):
        faces = detect_faces(frame)
        if faces:
            f = faces[0]
            boxes[i] = max(f.w, f.h) / 2, f.x + f.w / 2, f.y + f.h / 2
    found = ~np.isnan(boxes[:, 0])
    if not found.any():
        raise ValueError("no face found in the clip")
    index = np.arange(len(boxes))
    for c in range(3):
        boxes[:, c] = np.interp(index, index[found], boxes[found, c])
    kernel = min(SMOOTH, len(boxes) - (1 - len(boxes) % 2))
    return np.stack([medfilt(boxes[:, c], kernel) for c in range(3)], axis=1) if kernel >= 3 else boxes


def crop_faces(frames_bgr: list[np.ndarray], track: np.ndarray) -> np.ndarray:
    """(T, 224, 224, 3) crops: centred on the face, reaching from half a box above its centre down past
    the chin (``bs * (1 + 2 * cs)``), on a canvas padded with grey 110."""
    crops = []
    for frame, (bs, x, y) in zip(frames_bgr, track):
        pad = int(bs * (1 + 2 * CROP_SCALE))
        canvas = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), constant_values=PAD_VALUE)
        my, mx = y + pad, x + pad
        face = canvas[int(my - bs):int(my + bs * (1 + 2 * CROP_SCALE)),
                      int(mx - bs * (1 + CROP_SCALE)):int(mx + bs * (1 + CROP_SCALE))]
        crops.append(cv2.resize(face, (CROP, CROP)))
    return np.stack(crops)


def read_clip(source: bytes | Path) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames at 25 fps (nearest frame when the clip has another rate) and 16 kHz int16 audio."""
    import av

    from ai_pipeline.media.audio_io import decode_audio

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        timed = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    if not timed:
        raise ValueError("the clip has no video frames")
    times = np.array([t for t, _ in timed]) - timed[0][0]
    wanted = np.arange(int(round(times[-1] * FPS)) + 1) / FPS
    frames = [timed[int(np.argmin(np.abs(times - t)))][1] for t in wanted]
    audio, _ = decode_audio(data, RATE)
    return frames, np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)  # what wavfile.read gives


def delayed(audio: np.ndarray, frames: int) -> np.ndarray:
    """The same track ``frames`` video frames later (silence first), cut to the same length."""
    return np.concatenate([np.zeros(frames * SAMPLES_PER_FRAME, audio.dtype), audio])[:len(audio)]


# -- the score ---------------------------------------------------------------------------------------

def clip_inputs(crops_bgr: np.ndarray, audio: np.ndarray) -> tuple[object, object]:
    """The network's inputs, trimmed as ``evaluate`` does: (3, T, 224, 224) and (13, M) float tensors."""
    import torch

    length = min(len(crops_bgr), len(audio) // SAMPLES_PER_FRAME)
    video = torch.from_numpy(np.ascontiguousarray(crops_bgr[:length].transpose(3, 0, 1, 2))).float()
    return video, torch.from_numpy(mfcc(audio)).float()


def embed(net: object, crops_bgr: np.ndarray, audio: np.ndarray) -> tuple[object, object]:
    """Per-window (lip, audio) embeddings of a clip, on the CPU."""
    from ai_pipeline.talking_head.syncnet import sync_features

    video, cepstra = clip_inputs(crops_bgr, audio)
    if video.shape[1] <= WINDOW:
        raise ValueError(f"the clip is too short: {video.shape[1]} frames")
    device = next(net.parameters()).device  # type: ignore[attr-defined]
    lip, sound = sync_features(net, video.to(device), cepstra.to(device))  # type: ignore[arg-type]
    return lip.cpu(), sound.cpu()


def embed_audio(net: object, audio: np.ndarray, windows: int) -> object:
    """Audio embeddings alone (for another track under the same video), window ``v`` = MFCC columns 4v..4v+19."""
    import torch

    from ai_pipeline.talking_head.syncnet import MFCC_PER_FRAME

    cepstra = torch.from_numpy(mfcc(audio)).float()
    device = next(net.parameters()).device  # type: ignore[attr-defined]
    cols = torch.stack([cepstra[:, MFCC_PER_FRAME * v:MFCC_PER_FRAME * v + 20] for v in range(windows)])
    with torch.no_grad():
        return net.forward_aud(cols[:, None].to(device)).cpu()  # type: ignore[attr-defined]


def lse(lip: object, sound: object, vshift: int = VSHIFT) -> dict[str, object]:
    """LSE-D, LSE-C and the offset (video frames) of per-window embeddings."""
    from ai_pipeline.talking_head.syncnet import sync_score

    result = sync_score(lip, sound, vshift)  # type: ignore[arg-type]
    return {"lse_d": round(result.distance, 4), "lse_c": round(result.confidence, 4), "offset": result.offset,
            "windows": int(lip.shape[0])}  # type: ignore[attr-defined]


def _render_sample(settings: Settings) -> bytes:
    from ai_pipeline.assets import default_photo_path
    from ai_pipeline.runner import Pipeline

    pipeline = Pipeline(settings)
    try:
        pipeline.load(stages=("tts", "talking_head"))
        avatar = pipeline.avatar(default_photo_path(settings.avatars_dir).read_bytes())
        text = ("Здравствуйте! Меня зовут Аня, мне двенадцать лет. Я люблю рисовать, читать книги про космос "
                "и гулять с собакой. А чем любите заниматься вы?")
        return asyncio.run(pipeline.render(avatar, text=text)).mp4
    finally:
        pipeline.close()


def bench_lipsync(videos: list[Path], weights: Path, control: int, device: str, progress=print) -> dict[str, object]:
    from ai_pipeline.talking_head.syncnet import load_syncnet

    net = load_syncnet(weights, device)
    clips: list[tuple[str, bytes]] = [(str(v), v.read_bytes()) for v in videos]
    if not clips:
        progress("rendering the bench sentence with the configured engines")
        clips = [("render", _render_sample(Settings()))]
    results = []
    for name, data in clips:
        started = time.perf_counter()
        frames, audio = read_clip(data)
        crops = crop_faces([cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames], face_track(frames))
        lip, sound = embed(net, crops, audio)
        row: dict[str, object] = {"clip": name, "seconds": round(len(frames) / FPS, 2),
                                  "frames": len(lip) + WINDOW, **lse(lip, sound)}
        if control:
            shifted = lse(lip, embed_audio(net, delayed(audio, control), len(lip)))
            row["control"] = {"audio_delay_frames": control, **shifted,
                              "offset_moved_by": int(shifted["offset"]) - int(row["offset"])}  # type: ignore[call-overload]
        row["score_s"] = round(time.perf_counter() - started, 2)
        results.append(row)
        progress(f"{name}: LSE-D {row['lse_d']} LSE-C {row['lse_c']} offset {row['offset']}")
    return {"bench": "lipsync", "weights": str(weights), "device": device, "vshift": VSHIFT, "clips": results}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py lipsync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, action="append", default=[], help="an MP4 to score (repeatable)")
    parser.add_argument("--weights", type=Path, help=f"syncnet_v2.model (default <models_dir>/{SYNCNET_FILE})")
    parser.add_argument("--control", type=int, default=5, help="also score with the audio N frames late (0: off)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args(argv)
    weights = args.weights or Settings().models_dir / SYNCNET_FILE
    if not weights.is_file():
        print(f"Оценка синхронности губ пропущена: нет весов SyncNet ({weights}). Положите туда syncnet_v2.model "
              "из joonson/syncnet_python или укажите --weights.", file=sys.stderr)
        report: dict[str, object] = {"bench": "lipsync", "skipped": f"no SyncNet weights at {weights}"}
    else:
        report = bench_lipsync(args.video, weights, args.control, args.device,
                               lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True))
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0
