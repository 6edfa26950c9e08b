"""A reduced XTTS-v2 checkpoint in the published layout, for CPU tests of the real loading code.

Same classes as coqui/XTTS-v2 (``XttsConfig``/``XttsArgs``, GPT with the perceiver resampler,
HiFi-GAN decoder with its speaker encoder, the trainer's DVAE), randomly initialised, with a tiny
GPT. Files as published: ``config.json``, ``model.pth`` (``{"model": state_dict}``), ``vocab.json``
(a `tokenizers` BPE file with the XTTS special tokens), ``mel_stats.pth`` and ``dvae.pth``.
The full model has 30 GPT layers of 1024 channels and 1026 audio tokens; this one keeps the token
layout and shrinks the GPT to 2 layers of 64 channels.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SPECIAL = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[ru]", "[en]"]
ALPHABET = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcdefghijklmnopqrstuvwxyz0123456789.,!?-:;'\"()"
ACUTE = "\u0301"


def write_vocab(path: Path, *, accent: bool = True) -> None:
    """A character-level BPE vocabulary in the format of XTTS's vocab.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    chars = list(ALPHABET) + ([ACUTE] if accent else [])
    vocab = {tok: i for i, tok in enumerate(SPECIAL + chars)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(SPECIAL)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))


def tiny_config(folder: Path, max_audio_tokens: int = 40):  # type: ignore[no-untyped-def]
    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig, XttsConfig

    args = XttsArgs(gpt_layers=2, gpt_n_model_channels=64, gpt_n_heads=2, decoder_input_dim=64,
                    gpt_num_audio_tokens=1026, gpt_start_audio_token=1024, gpt_stop_audio_token=1025,
                    gpt_max_audio_tokens=max_audio_tokens, gpt_max_text_tokens=200, gpt_max_prompt_tokens=70,
                    gpt_use_perceiver_resampler=True, gpt_use_masking_gt_prompt_approach=True,
                    tokenizer_file=str(folder / "vocab.json"))
    return XttsConfig(model_args=args, audio=XttsAudioConfig(), languages=["ru", "en"], temperature=0.75)


def write_checkpoint(folder: Path, *, accent: bool = True, trainer_files: bool = False, max_audio_tokens: int = 40,
                     seed: int = 0) -> Path:
    """Write a reduced, randomly initialised XTTS-v2 checkpoint folder and return it.

    ``max_audio_tokens`` bounds generation (40 tokens: under 2 s of speech, so random weights
    cannot babble for long); training needs room for whole utterances (605 as published).
    ``trainer_files`` adds ``mel_stats.pth`` and ``dvae.pth`` (what the GPT trainer needs). The DVAE
    keeps the published architecture (the trainer hard-codes it) but only the parts the trainer
    runs are written, in float16: the encoder and the codebook (it loads with ``strict=False``).
    """
    from TTS.tts.layers.xtts.dvae import DiscreteVAE
    from TTS.tts.models.xtts import Xtts

    folder.mkdir(parents=True, exist_ok=True)
    write_vocab(folder / "vocab.json", accent=accent)
    config = tiny_config(folder, max_audio_tokens)
    torch.manual_seed(seed)
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(folder / "vocab.json")
    model.init_models()
    mel_stats = torch.rand(80) * 2 + 0.5
    model.mel_stats.copy_(mel_stats)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    (folder / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    if trainer_files:
        torch.save(mel_stats, folder / "mel_stats.pth")
        # GPTTrainer builds its DVAE with num_tokens = gpt_num_audio_tokens - 2
        dvae = DiscreteVAE(channels=80, normalization=None, positional_dims=1, num_tokens=1024, codebook_dim=512,
                           hidden_dim=512, num_resnet_blocks=3, kernel_size=3, num_layers=2,
                           use_transposed_convs=False)
        used = {k: v.half() for k, v in dvae.state_dict().items() if not k.startswith("decoder.")}
        torch.save(used, folder / "dvae.pth")
    return folder
