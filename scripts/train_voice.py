"""Fine-tune XTTS-v2's GPT on an enrolled voice (GPU machines) and register it as a new voice version.

    python scripts/train_voice.py VOICE [--epochs 10] [--batch-size 4] [--grad-accum 8] [--base DIR]

Steps, each printed as a progress line (``[train_voice] ...``):

1. dataset: the voice's prepared utterances transcribed by the configured ASR (Whisper) into an
   LJSpeech-style set with a train/eval split (:mod:`ai_pipeline.voice.dataset`), under
   ``<data_dir>/training/<voice id>/dataset``; transcripts are cached, so a re-run only adds new files;
2. training: Coqui's ``GPTTrainer`` on the base checkpoint (``config.json``, ``model.pth``,
   ``vocab.json``, ``dvae.pth``, ``mel_stats.pth``: ``scripts/download_models.py --only xtts-v2``),
   checkpoints every ``--save-step`` steps under ``.../run``. Running the same command again resumes
   the newest run from its last checkpoint (``--epochs`` is the total to reach); ``--fresh`` starts over;
3. export: the GPT weights of the best checkpoint go to ``xtts_gpt.pth`` and the voice gets a new
   version (source ``trained``) holding it; the XTTS engine swaps it in when that voice speaks.

Only the GPT is trained (the decoder and speaker encoder stay as published), which is Coqui's
recipe for XTTS fine-tuning. On a 12 GB GPU batch size 2-4 with gradient accumulation fits.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ai_pipeline import registry
from ai_pipeline.settings import Settings
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.dataset import DatasetInfo, build_dataset
from ai_pipeline.voice.store import VoiceStore

BASE_FILES = ("config.json", "model.pth", "vocab.json", "dvae.pth", "mel_stats.pth")
RUN_NAME = "xtts_gpt"
GPT_PREFIX = "xtts.gpt."
_accents: Any = None


def say(message: str) -> None:
    print(f"[train_voice] {message}", flush=True)


def prepare_dataset(voice: Voice, settings: Settings, out: Path, vocab: Path) -> DatasetInfo:
    """Step 1: transcripts and metadata, in the form the engine will feed the model."""
    from ai_pipeline.tts.russian_accents import ACUTE, RussianAccents

    global _accents
    marks = ACUTE in json.loads(vocab.read_text()).get("model", {}).get("vocab", {})
    accents = _accents = _accents or RussianAccents()  # loaded once per process (a few seconds)
    asr = registry.build("asr", settings.asr, settings.models_dir)
    asr.load()
    try:
        return build_dataset(voice, asr, out, language="ru", front_end=lambda text: accents.apply(text, marks=marks),
                             progress=lambda f, msg: say(f"dataset {100 * f:3.0f}%: {msg}"))
    finally:
        asr.close()


def trainer_config(base: Path, dataset: DatasetInfo, run_root: Path, args: argparse.Namespace) -> Any:
    """Coqui's GPT fine-tuning recipe, sized by the base checkpoint's own config."""
    from TTS.config.shared_configs import BaseDatasetConfig
    from TTS.tts.configs.xtts_config import XttsAudioConfig, XttsConfig
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTArgs, GPTTrainerConfig

    base_config = XttsConfig()
    base_config.load_json(str(base / "config.json"))
    shape = {k: v for k, v in base_config.model_args.to_dict().items() if k in GPTArgs.__dataclass_fields__}
    # ~11.6 s as in Coqui's recipe, or less when the GPT's audio positions cannot hold that much
    codes = base_config.model_args.gpt_max_audio_tokens - 3
    max_wav = min(255995, codes * base_config.model_args.gpt_code_stride_len)
    model_args = GPTArgs(**{**shape, "max_conditioning_length": 132300, "min_conditioning_length": 66150,
                            "max_wav_length": max_wav, "max_text_length": 200,
                            "mel_norm_file": str(base / "mel_stats.pth"), "dvae_checkpoint": str(base / "dvae.pth"),
                            "xtts_checkpoint": str(base / "model.pth"), "tokenizer_file": str(base / "vocab.json"),
                            "gpt_use_masking_gt_prompt_approach": True, "gpt_use_perceiver_resampler": True})
    data = BaseDatasetConfig(formatter="ljspeech", dataset_name="voice", path=str(dataset.folder),
                             meta_file_train=dataset.train_csv.name, meta_file_val=dataset.eval_csv.name,
                             language="ru")
    return GPTTrainerConfig(
        output_path=str(run_root), run_name=RUN_NAME, project_name="avatar", run_description="XTTS-v2 GPT fine-tune",
        model_args=model_args, audio=XttsAudioConfig(sample_rate=22050, dvae_sample_rate=22050, output_sample_rate=24000),
        datasets=[data], languages=base_config.languages, epochs=args.epochs, batch_size=args.batch_size,
        eval_batch_size=args.batch_size, num_loader_workers=args.workers, num_eval_loader_workers=args.workers,
        batch_group_size=0, run_eval=dataset.eval > 0, print_step=max(1, args.save_step // 10),
        plot_step=args.save_step, log_model_step=args.save_step, save_step=args.save_step, save_n_checkpoints=2,
        save_checkpoints=True, print_eval=False, dashboard_logger="tensorboard", mixed_precision=False,
        optimizer="AdamW", optimizer_wd_only_on_weights=True, lr=args.lr,
        optimizer_params={"betas": [0.9, 0.96], "eps": 1e-8, "weight_decay": 1e-2},
        lr_scheduler="MultiStepLR", lr_scheduler_params={"milestones": [50000 * 18, 150000 * 18], "gamma": 0.5},
        test_sentences=[], training_seed=args.seed)


def last_run(run_root: Path) -> Path | None:
    """The newest run folder that has a checkpoint to resume from."""
    runs = [p for p in run_root.glob(f"{RUN_NAME}-*") if any(p.glob("*.pth"))]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def train(base: Path, dataset: DatasetInfo, run_root: Path, args: argparse.Namespace) -> Path:
    """Step 2: run (or resume) the trainer; returns the run folder."""
    from trainer import Trainer, TrainerArgs

    from TTS.tts.datasets import load_tts_samples
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    config = trainer_config(base, dataset, run_root, args)
    resume = None if args.fresh else last_run(run_root)
    if resume is not None:
        saved = json.loads((resume / "config.json").read_text())
        saved["epochs"] = args.epochs  # the total to reach; everything else stays as the run started
        (resume / "config.json").write_text(json.dumps(saved, indent=4))
        say(f"training: resuming {resume.name}")
    model = GPTTrainer(config)
    train_samples, eval_samples = load_tts_samples(config, eval_split=True)
    started = time.perf_counter()

    def step_done(trainer: Any) -> None:
        losses = trainer.keep_avg_train.avg_values if trainer.keep_avg_train is not None else {}
        loss = losses.get("avg_loss")
        say(f"training: epoch {trainer.epochs_done + 1}/{trainer.config.epochs} step {trainer.total_steps_done}"
            + (f" loss {loss:.4f}" if loss is not None else "") + f" ({time.perf_counter() - started:.0f} s)")

    trainer = Trainer(TrainerArgs(continue_path=str(resume) if resume else "", restore_path="",
                                  skip_train_epoch=False, start_with_eval=False, grad_accum_steps=args.grad_accum),
                      config, output_path=str(run_root), model=model, train_samples=train_samples,
                      eval_samples=eval_samples, callbacks={"on_train_step_end": step_done})
    trainer.fit()
    return Path(trainer.output_path)


def best_checkpoint(run: Path) -> Path:
    for pattern in ("best_model.pth", "best_model_*.pth", "checkpoint_*.pth"):
        found = sorted(run.glob(pattern), key=lambda p: p.stat().st_mtime)
        if found:
            return found[-1]
    raise FileNotFoundError(f"no checkpoint in {run}")


def export(run: Path, voice: Voice, store: VoiceStore, info: dict[str, Any]) -> Voice:
    """Step 3: the fine-tuned GPT as a new version of the voice."""
    import torch

    checkpoint = best_checkpoint(run)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    gpt = {k[len(GPT_PREFIX):]: v for k, v in state["model"].items() if k.startswith(GPT_PREFIX)}
    if not gpt:
        raise SystemExit(f"{checkpoint} has no {GPT_PREFIX}* weights")
    with tempfile.TemporaryDirectory() as tmp:
        gpt_path, meta_path = Path(tmp) / "xtts_gpt.pth", Path(tmp) / "xtts_train.json"
        torch.save(gpt, gpt_path)
        meta = {**info, "checkpoint": str(checkpoint), "step": state.get("step"), "epoch": state.get("epoch"),
                "from_version": voice.version}
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        return store.register_version(voice.id, source="trained",
                                      files={"xtts_gpt.pth": gpt_path, "xtts_train.json": meta_path})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("voice", help="voice id or name")
    parser.add_argument("--base", type=Path, help="base XTTS-v2 folder (default: <models_dir>/<tts.model_dir>)")
    parser.add_argument("--work", type=Path, help="dataset and runs (default: <data_dir>/training/<voice id>)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-6)
    parser.add_argument("--save-step", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="start a new run instead of resuming")
    parser.add_argument("--no-register", action="store_true", help="train only; do not add a voice version")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    args = parse_args(argv)
    settings = settings or Settings()
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    voice = store.get(args.voice)
    base = args.base or settings.models_dir / getattr(settings.tts, "model_dir", Path("xtts_v2"))
    missing = [name for name in BASE_FILES if not (base / name).is_file()]
    if missing:
        say(f"base checkpoint {base} lacks {', '.join(missing)}: python scripts/download_models.py --only xtts-v2")
        return 2
    work = args.work or settings.data_dir / "training" / voice.id
    say(f"voice {voice.name} ({voice.key}), base {base}, work {work}")
    say("[1/3] dataset")
    dataset = prepare_dataset(voice, settings, work / "dataset", base / "vocab.json")
    say(f"dataset: {dataset.train} train + {dataset.eval} eval utterances, {dataset.seconds / 60:.1f} min, "
        f"{dataset.skipped} skipped")
    say("[2/3] training")
    run = train(base, dataset, work / "run", args)
    say(f"training done: {run}")
    if args.no_register:
        return 0
    say("[3/3] export")
    new = export(run, voice, store, {"dataset": dataset.to_dict(), "epochs": args.epochs, "base": str(base)})
    say(f"registered {new.key}: prepare it for XTTS (latents) before use")
    return 0


if __name__ == "__main__":
    sys.exit(main())
