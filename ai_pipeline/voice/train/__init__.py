"""Fine-tuning XTTS-v2's GPT on an enrolled voice, as a library: the CLI (``scripts/train_voice.py``)
and the server's training job (``backend/voice_training.py``) run the same code.

* :mod:`.progress`: what a run reports (stage, epoch, step, loss, ETA) and how it is stopped;
* :mod:`.capability`: whether this machine can train, and why not (for ``/api/health``);
* :mod:`.gpt`: Coqui's ``GPTTrainer`` recipe: config, run/resume with callbacks, export of the GPT;
* :mod:`.run`: the whole run for one voice: dataset, GPU budget, training, the exported GPT;
* :mod:`.validate`: the trained GPT against the voice as it was (similarity and WER of a test sentence).
"""
