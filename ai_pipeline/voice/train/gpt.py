"""Coqui's XTTS-v2 GPT fine-tuning recipe (``GPTTrainer``): config, a run that reports every step,
stops on request after a checkpoint and resumes the newest run, and the export of the trained GPT.

Only the GPT is trained (the decoder and the speaker encoder stay as published), as in Coqui's
recipe. Checkpoints go to ``<run_root>/xtts_gpt-<date>/checkpoint_<step>.pth`` every ``save_step``
steps; a run started again finds the newest run folder with a checkpoint and continues it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol

from ai_pipeline.voice.dataset import DatasetInfo
from ai_pipeline.voice.train.progress import Progress, StopSignal, TrainingStopped, TrainProgress

RUN_NAME = "xtts_gpt"
GPT_PREFIX = "xtts.gpt."


@dataclass(frozen=True)
class GptOptions:
    """The trainer's knobs (``epochs`` is the total to reach, also when resuming)."""

    epochs: int = 10
    batch_size: int = 4
    grad_accum: int = 8
    lr: float = 5e-6
    save_step: int = 500
    workers: int = 2
    seed: int = 1


def trainer_config(base: Path, dataset: DatasetInfo, run_root: Path, options: GptOptions) -> Any:
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
        datasets=[data], languages=base_config.languages, epochs=options.epochs, batch_size=options.batch_size,
        eval_batch_size=options.batch_size, num_loader_workers=options.workers,
        num_eval_loader_workers=options.workers, batch_group_size=0, run_eval=dataset.eval > 0,
        print_step=max(1, options.save_step // 10), plot_step=options.save_step, log_model_step=options.save_step,
        save_step=options.save_step, save_n_checkpoints=2, save_checkpoints=True, print_eval=False,
        dashboard_logger="tensorboard", mixed_precision=False, optimizer="AdamW", optimizer_wd_only_on_weights=True,
        lr=options.lr, optimizer_params={"betas": [0.9, 0.96], "eps": 1e-8, "weight_decay": 1e-2},
        lr_scheduler="MultiStepLR", lr_scheduler_params={"milestones": [50000 * 18, 150000 * 18], "gamma": 0.5},
        test_sentences=[], training_seed=options.seed)


def last_run(run_root: Path) -> Path | None:
    """The newest run folder that has a checkpoint to resume from."""
    runs = [p for p in Path(run_root).glob(f"{RUN_NAME}-*") if any(p.glob("*.pth"))]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def best_checkpoint(run: Path) -> Path:
    """The best model of a run, else its newest checkpoint."""
    for pattern in ("best_model.pth", "best_model_*.pth", "checkpoint_*.pth"):
        found = sorted(run.glob(pattern), key=lambda p: p.stat().st_mtime)
        if found:
            return found[-1]
    raise FileNotFoundError(f"no checkpoint in {run}")


class GpuYield(Protocol):
    """How a run gives its GPU memory back for a while (the VRAM ledger's background slot, see run.py)."""

    def asked(self) -> bool:
        """Whether another engine needs the memory now."""

    def give_back(self) -> None:
        """Release the hold (the run's tensors are off the GPU by then)."""

    def take_back(self) -> None:
        """Block until the memory is free again; raises ``TrainingStopped`` if the run is stopped meanwhile."""


def _offload(trainer: Any) -> Callable[[], None]:
    """Move what the run keeps on the GPU (the model with its gradients, the optimiser's state) to the
    CPU and free the cache; returns the function that puts every tensor back where it was."""
    import torch

    device = next(trainer.model.parameters()).device
    trainer.model.to("cpu")  # parameters keep their identity, so the optimiser still knows them
    moved: list[tuple[dict[str, Any], str, Any]] = []
    optimizers = trainer.optimizer if isinstance(trainer.optimizer, list) else [trainer.optimizer]
    for optimizer in optimizers:
        for state in optimizer.state.values() if optimizer is not None else ():
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.device.type != "cpu":  # Adam's step counters stay
                    moved.append((state, key, value.device))
                    state[key] = value.cpu()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

    def restore() -> None:
        trainer.model.to(device)
        for state, key, where in moved:
            state[key] = state[key].to(where)

    return restore


class _Reporter:
    """The trainer's callbacks: progress after each step, a pause when the GPU is needed elsewhere,
    a checkpoint and a stop when asked."""

    def __init__(self, progress: Progress, stop: StopSignal | None, gpu: GpuYield | None = None) -> None:
        self.progress, self.stop, self.gpu = progress, stop, gpu
        self.started = time.perf_counter()
        self.first_step: int | None = None
        self.per_epoch = 0
        self.last: TrainProgress | None = None

    def epoch_start(self, trainer: Any) -> None:
        self.per_epoch = len(trainer.train_loader) if trainer.train_loader is not None else 0
        # no stop here: a checkpoint before the epoch's first step would hold no loss, which breaks
        # the trainer's best-model comparison when the run resumes
        if self.first_step is None and self.gpu is not None and self.gpu.asked():
            # asked while the model and the loaders were being built: give way before the first step (a stop
            # meanwhile saves nothing: this process has taken no step since the checkpoint it started from)
            self._pause(trainer, checkpoint=False)

    def step_end(self, trainer: Any) -> None:
        step, epochs = trainer.total_steps_done, trainer.config.epochs
        if self.first_step is None:
            self.first_step, self.started = step - 1, time.perf_counter() - 1e-3
        total = max(step, epochs * self.per_epoch) if self.per_epoch else None
        done_here = step - self.first_step
        eta = None
        if total is not None and done_here > 0:
            eta = round((time.perf_counter() - self.started) / done_here * max(0, total - step), 1)
        losses = trainer.keep_avg_train.avg_values if trainer.keep_avg_train is not None else {}
        loss = losses.get("avg_loss")
        epoch = trainer.epochs_done + 1
        fraction = step / total if total else epoch / epochs
        message = f"Обучение: эпоха {epoch} из {epochs}, шаг {step}" + (f" из {total}" if total else "")
        self.last = TrainProgress("training", fraction, message, epoch=epoch, epochs=epochs, step=step, steps=total,
                                  loss=None if loss is None else round(float(loss), 5), eta_s=eta)
        self.progress(self.last)
        self._check(trainer)
        if self.gpu is not None and self.gpu.asked():
            self._pause(trainer)

    def _pause(self, trainer: Any, checkpoint: bool = True) -> None:
        """Give the GPU to whoever asked: tensors to the CPU, the hold released, then back when free.
        A stop while paused saves a checkpoint first (``checkpoint``) and ends the run."""
        assert self.gpu is not None
        last = self.last or TrainProgress("training", 0.0, "Загрузка модели для обучения")
        self.progress(replace(last, message="Пауза: видеопамять нужна разговору, обучение продолжится само",
                              eta_s=None, paused=True))
        paused_at = time.perf_counter()
        restore = _offload(trainer)
        self.gpu.give_back()
        try:
            self.gpu.take_back()
        except TrainingStopped:
            if checkpoint:
                trainer.save_checkpoint()  # stopped while paused: the run resumes from here
            raise
        restore()
        self.started += time.perf_counter() - paused_at  # the pause does not count toward the ETA
        self.progress(replace(last, message="Обучение продолжается" if self.last else last.message, eta_s=None))

    def _check(self, trainer: Any) -> None:
        if self.stop is not None and self.stop.is_set():
            trainer.save_checkpoint()  # the run resumes from here
            raise TrainingStopped(self.stop.reason)


def run_trainer(base: Path, dataset: DatasetInfo, run_root: Path, options: GptOptions, *, fresh: bool = False,
                progress: Progress | None = None, stop: StopSignal | None = None, gpu: GpuYield | None = None) -> Path:
    """Run (or resume the newest run of) the GPT trainer; returns the run folder.

    Raises :class:`TrainingStopped` after saving a checkpoint when ``stop`` is set. With ``gpu``, the
    run pauses after a step (or before its first) whenever ``gpu.asked()`` (its tensors wait on the CPU) and
    goes on where it was.
    """
    from trainer import Trainer, TrainerArgs

    from TTS.tts.datasets import load_tts_samples
    from TTS.tts.layers.xtts.trainer.gpt_trainer import GPTTrainer

    report = progress or (lambda p: None)
    config = trainer_config(base, dataset, run_root, options)
    resume = None if fresh else last_run(run_root)
    if resume is not None:
        saved = json.loads((resume / "config.json").read_text())
        saved["epochs"] = options.epochs  # the total to reach; everything else stays as the run started
        (resume / "config.json").write_text(json.dumps(saved, indent=4))
        report(TrainProgress("training", 0.0, f"Продолжаем обучение с контрольной точки ({resume.name})"))
    model = GPTTrainer(config)
    train_samples, eval_samples = load_tts_samples(config, eval_split=True)
    reporter = _Reporter(report, stop, gpu)
    # each Trainer adds a file handler (its run's trainer_0_log.txt) to the process-wide "trainer" logger
    # and never removes it: a later run in this process would log into, or fail to reopen, an old run's file
    trainer_log = logging.getLogger("trainer")
    handlers = list(trainer_log.handlers)
    for handler in handlers:  # the package's console handler holds the stderr of its import, maybe closed since
        if type(handler) is logging.StreamHandler and getattr(handler.stream, "closed", False):
            handler.stream = sys.stderr  # not setStream(): that flushes the closed stream first
    try:
        trainer = Trainer(TrainerArgs(continue_path=str(resume) if resume else "", restore_path="",
                                      skip_train_epoch=False, start_with_eval=False,
                                      grad_accum_steps=options.grad_accum),
                          config, output_path=str(run_root), model=model, train_samples=train_samples,
                          eval_samples=eval_samples,
                          callbacks={"on_train_epoch_start": reporter.epoch_start, "on_train_step_end": reporter.step_end})
        try:
            # _fit, not fit(): fit() turns any exception into sys.exit and deletes runs without checkpoints
            trainer._fit()
        finally:
            trainer.dashboard_logger.finish()
    finally:
        for handler in [h for h in trainer_log.handlers if h not in handlers]:
            trainer_log.removeHandler(handler)
            handler.close()
    return Path(trainer.output_path)


def export_gpt(run: Path, out: Path) -> dict[str, Any]:
    """Write the GPT weights of the run's best checkpoint to ``out``; returns what was exported."""
    import torch

    checkpoint = best_checkpoint(run)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    gpt = {k[len(GPT_PREFIX):]: v for k, v in state["model"].items() if k.startswith(GPT_PREFIX)}
    if not gpt:
        raise ValueError(f"{checkpoint} has no {GPT_PREFIX}* weights")
    if "mel_embedding.weight" in gpt:
        # the inference model ties gpt.wte to mel_embedding; name it too, so the engine's load finds every key
        gpt["gpt.wte.weight"] = gpt["mel_embedding.weight"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    torch.save(gpt, tmp)
    tmp.replace(out)
    return {"checkpoint": str(checkpoint), "step": state.get("step"), "epoch": state.get("epoch")}
