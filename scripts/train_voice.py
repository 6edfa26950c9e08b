"""Fine-tune XTTS-v2's GPT on an enrolled voice (GPU machines) and register it as a new voice version.

    python scripts/train_voice.py VOICE [--epochs 10] [--batch-size 4] [--grad-accum 8] [--base DIR]

A thin command line over :mod:`ai_pipeline.voice.train` (the web app's training job runs the same
code). The flags' defaults are the settings' ``training`` section (``avatar.yaml``,
``AVATAR_TRAINING__*``), which the server's job uses too. Steps, each printed as a progress line
(``[train_voice] ...``):

1. dataset: the voice's prepared utterances transcribed by the configured ASR (Whisper) into an
   LJSpeech-style set with a train/eval split, under ``<data_dir>/training/<voice id>/dataset``;
   transcripts are cached, so a re-run only adds new files;
2. training: Coqui's ``GPTTrainer`` on the base checkpoint (``config.json``, ``model.pth``,
   ``vocab.json``, ``dvae.pth``, ``mel_stats.pth``: ``scripts/download_models.py --only xtts-v2``),
   checkpoints every ``--save-step`` steps under ``.../run``. Running the same command again resumes
   the newest run from its last checkpoint (``--epochs`` is the total to reach); ``--fresh`` starts
   over; Ctrl+C saves a checkpoint and stops;
3. export: the GPT weights of the best checkpoint go to ``xtts_gpt.pth`` and the voice gets a new
   version (source ``trained``) holding it; the XTTS engine swaps it in when that voice speaks.
   ``--validate`` first compares it with the voice as it is (similarity, WER) and registers it only
   when it is better, as the server's job does.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ai_pipeline.settings import Settings, TrainingSettings
from ai_pipeline.voice.store import VoiceStore
from ai_pipeline.voice.train.capability import DOWNLOAD, base_folder, missing_base_files
from ai_pipeline.voice.train.gpt import best_checkpoint, last_run  # noqa: F401  (the CLI's helpers, as before)
from ai_pipeline.voice.train.gpt import GptOptions
from ai_pipeline.voice.train.progress import StopSignal, TrainingStopped, TrainProgress
from ai_pipeline.voice.train.run import TrainRequest, register_trained, train_voice


def say(message: str) -> None:
    print(f"[train_voice] {message}", flush=True)


def show(p: TrainProgress) -> None:
    """One progress line per report: the stage and, while training, epoch, step, loss and ETA."""
    if p.stage == "training" and p.step is not None:
        line = f"training: epoch {p.epoch}/{p.epochs} step {p.step}" + (f"/{p.steps}" if p.steps else "")
        line += (f" loss {p.loss:.4f}" if p.loss is not None else "") + (f" eta {p.eta_s:.0f} s" if p.eta_s is not None else "")
        say(line)
    else:
        say(f"{p.stage} {100 * p.fraction:3.0f}%: {p.message}")


def parse_args(argv: list[str] | None, training: TrainingSettings | None = None) -> argparse.Namespace:
    """The command line; the options' defaults come from ``training`` (the settings' section)."""
    t = training or TrainingSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("voice", help="voice id or name")
    parser.add_argument("--base", type=Path, default=t.base_dir,
                        help="base XTTS-v2 folder (default: training.base_dir, else <models_dir>/<tts.model_dir>)")
    parser.add_argument("--work", type=Path, help="dataset and runs (default: <data_dir>/training/<voice id>)")
    parser.add_argument("--epochs", type=int, default=t.epochs)
    parser.add_argument("--batch-size", type=int, default=t.batch_size)
    parser.add_argument("--grad-accum", type=int, default=t.grad_accum)
    parser.add_argument("--lr", type=float, default=t.lr)
    parser.add_argument("--save-step", type=int, default=t.save_step)
    parser.add_argument("--workers", type=int, default=t.workers)
    parser.add_argument("--seed", type=int, default=t.seed)
    parser.add_argument("--vram-mb", type=int, default=t.vram_mb, help="declared to the GPU budget while training")
    parser.add_argument("--fresh", action="store_true", help="start a new run instead of resuming")
    parser.add_argument("--no-register", action="store_true", help="train only; do not add a voice version")
    parser.add_argument("--validate", action="store_true", help="register only if better than the voice as it is")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    args = parse_args(argv, settings.training)
    store = VoiceStore(settings.voices_dir, limits=settings.limits)
    voice = store.get(args.voice)
    base = args.base or base_folder(settings.training, settings.models_dir, getattr(settings.tts, "model_dir", None))
    missing = missing_base_files(base)
    if missing:
        say(f"base checkpoint {base} lacks {', '.join(missing)}: {DOWNLOAD}")
        return 2
    work = args.work or settings.data_dir / "training" / voice.id
    say(f"voice {voice.name} ({voice.key}), base {base}, work {work}")
    options = GptOptions(epochs=args.epochs, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
                         save_step=args.save_step, workers=args.workers, seed=args.seed)
    stop = StopSignal()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set("cancel")) if sys.argv and __name__ == "__main__" else None
    try:
        outcome = train_voice(voice, settings, TrainRequest(base, work, options, args.fresh, args.vram_mb), show, stop,
                              lock=settings.data_dir / "training" / ".lock")
    except TrainingStopped:
        say("stopped after a checkpoint: run the same command to resume")
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    info = outcome.dataset
    say(f"dataset: {info.train} train + {info.eval} eval utterances, {info.seconds / 60:.1f} min, {info.skipped} skipped")
    say(f"training done: {outcome.run} ({outcome.seconds:.0f} s)")
    if args.no_register:
        return 0
    if args.validate:
        from ai_pipeline.voice.train.validate import validate_trained

        verdict = validate_trained(voice, outcome.gpt, base, settings, work, show)
        outcome.meta["validation"] = verdict.to_dict()
        if not verdict.better:
            say(f"not registered: {verdict.reason}")
            return 0
    new = register_trained(store, voice, outcome.gpt, outcome.meta)
    say(f"registered {new.key}: prepare it for XTTS (latents) before use")
    return 0


if __name__ == "__main__":
    sys.exit(main())
