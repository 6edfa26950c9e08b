"""Smart Turn v3.2 (ai_pipeline/asr/turn.py): cost per call and false early cut-offs on Russian speech.

``python scripts/bench_turn_detect.py`` prints JSON:

* ``ms_per_call``: median of 50 calls on 8 s of speech, one onnxruntime thread (features included);
* two sets of utterances, each split at a mid-sentence pause (a comma):
  ``human``: real studio recordings of a Russian speaker (festvox-ru's nsh database, installed with
  Festival), read sentences, split where the reader paused at a comma (the phone labels shipped with
  the database give the times); ``rhvoice``: questions with one comma spoken by RHVoice voices
  («Если завтра будет дождь, | мы пойдём в кино?»), split at the pause RHVoice makes there.
  The pause is stretched to 400-800 ms (filled with the recording's own room noise). The detector is
  asked what a pipeline asks it once the voice activity detector has heard 100 or 200 ms of silence:
  in the pause (the audio up to the comma, then the silence) and after the finished utterance (all of
  it, the pause included, then the silence). Per threshold (0.5, 0.7): ``false_cutoff``, the share of
  pauses judged complete (the avatar would cut in), and ``complete_detected``, the share of finished
  utterances judged complete (else the reply waits for the silence timeout).
* ``human`` also gives ``mid_word_judged_complete``: the same recordings cut in the middle of a phone
  near the middle of the sentence (as if the speaker stopped dead), then 100/200 ms of silence;
  ``human_questions``: the database's 18 recordings that end with a question, judged after 100/200 ms.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from ai_pipeline.asr.turn import SAMPLE_RATE, SmartTurn

NSH = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits")
THRESHOLDS = (0.5, 0.7)
SILENCES_MS = (100, 200)
VOICES = ("irina", "aleksandr", "anna")
# one comma each: what comes before it does not end the question
QUESTIONS = (
    "Если завтра будет дождь, мы пойдём в кино?", "Когда ты вернёшься домой, позвонишь мне?",
    "Если я приду пораньше, ты меня подождёшь?", "Когда начнётся фильм, который ты советовал?",
    "Мама спрашивает, придёшь ли ты к ужину?", "Я хотел узнать, где здесь ближайшая аптека?",
    "Как ты думаешь, стоит ли брать зонтик?", "Если поезд опоздает, что нам тогда делать?",
    "Пока я готовлю обед, ты сходишь в магазин?", "Когда закончится урок, мы пойдём гулять?",
    "Скажи мне честно, тебе понравился подарок?", "Если купить билеты сегодня, они будут дешевле?",
    "После того как мы поужинаем, посмотрим сериал?", "Ты не помнишь, во сколько открывается музей?",
    "Если тебе не трудно, ты можешь мне помочь?", "Пока не стемнело, успеем дойти до озера?",
    "Когда ты был маленьким, ты любил рисовать?", "Подскажи, пожалуйста, как пройти к вокзалу?",
    "Если у нас останется время, зайдём в библиотеку?", "Как только сестра приедет, ты мне скажешь?",
)


class Split:
    """One utterance cut at a mid-sentence pause: the speech before and after it, and room noise."""

    def __init__(self, name: str, before: np.ndarray, after: np.ndarray, room: np.ndarray,
                 mid_word: np.ndarray | None = None) -> None:
        self.name, self.before, self.after, self.room = name, before, after, room
        self.mid_word = mid_word  # the speech up to the middle of a phone (human recordings only)

    def silence(self, ms: float) -> np.ndarray:
        n = int(SAMPLE_RATE * ms / 1000)
        return np.resize(self.room, n) if self.room.size else np.zeros(n, np.float32)

    def paused(self, ms: float) -> np.ndarray:
        """The turn so far when the speaker has been quiet for ``ms`` at the comma."""
        return np.concatenate([self.before, self.silence(ms)])

    def finished(self, pause_ms: float, ms: float) -> np.ndarray:
        """The whole utterance with a ``pause_ms`` pause at the comma, then ``ms`` of silence."""
        return np.concatenate([self.before, self.silence(pause_ms), self.after, self.silence(ms)])


def nsh_segments(name: str) -> list[tuple[float, float, str]]:
    """``(start, end, phone)`` from the database's label file (each line holds a phone's end time)."""
    segments, start = [], 0.0
    for line in (NSH / "lab" / f"{name}.lab").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0][0].isdigit():
            segments.append((start, float(parts[0]), parts[2]))
            start = float(parts[0])
    return segments


def nsh_splits(count: int, stride: int = 10) -> list[Split]:
    """Up to ``count`` recordings (every ``stride``-th) cut at their last real pause (>= 150 ms)
    between 30 % and 90 % of the speech."""
    from ai_pipeline.voice.profile import read_wav

    out = []
    for path in sorted((NSH / "wav").glob("ru_*.wav"))[::stride]:
        samples = read_wav(path).samples
        segments = nsh_segments(path.stem)
        phones = [s for s in segments if s[2] != "pau"]
        first, last = phones[0][0], phones[-1][1]
        pauses = [s for s in segments if s[2] == "pau" and s[1] - s[0] >= 0.15
                  and 0.3 < (s[0] - first) / (last - first) < 0.9]
        if not pauses:
            continue
        start, end, _ = pauses[-1]
        cut = lambda t: int(t * SAMPLE_RATE)  # noqa: E731
        middle = [s for s in phones if 0.4 < (s[0] - first) / (last - first) < 0.7]
        word = middle[len(middle) // 2]
        out.append(Split(path.stem, samples[:cut(start)], samples[cut(end):cut(last)], samples[:cut(first)],
                         samples[:cut((word[0] + word[1]) / 2)]))
        if len(out) == count:
            break
    return out


def nsh_questions(detector: SmartTurn) -> dict[str, object]:
    """The recordings whose text ends with «?», judged complete after 100/200 ms of room noise."""
    from ai_pipeline.voice.profile import read_wav

    names = [line.split()[1] for line in (NSH / "etc" / "txt.done.data").read_text().splitlines()
             if line.rstrip().endswith('?" )')]
    probs: dict[int, list[float]] = {ms: [] for ms in SILENCES_MS}
    for name in names:
        samples = read_wav(NSH / "wav" / f"{name}.wav").samples
        phones = [s for s in nsh_segments(name) if s[2] != "pau"]
        split = Split(name, samples[:int(phones[-1][1] * SAMPLE_RATE)], samples[:0],
                      samples[:int(phones[0][0] * SAMPLE_RATE)])
        for ms in SILENCES_MS:
            probs[ms].append(detector.probability(split.paused(ms)))
    return {"utterances": len(names),
            "complete_detected": {str(t): {f"{ms}ms": round(float(np.mean(np.array(probs[ms]) >= t)), 3)
                                           for ms in SILENCES_MS} for t in THRESHOLDS},
            "median_probability": {f"{ms}ms": round(float(np.median(probs[ms])), 3) for ms in SILENCES_MS}}


def rhvoice_splits(questions: tuple[str, ...] = QUESTIONS, voices: tuple[str, ...] = VOICES) -> list[Split]:
    """Each question spoken by voice i mod len(voices), cut at its longest inner pause (the comma)."""
    import soxr

    from ai_pipeline.tts.rhvoice import RhvoiceSettings, RhvoiceTTS

    tts = RhvoiceTTS(RhvoiceSettings(accents="off", phonemes=False))
    tts.load()
    out = []
    try:
        for i, text in enumerate(questions):
            chunk = tts.with_voice(voices[i % len(voices)]).synthesize_sentence(text)
            audio = soxr.resample(chunk.samples, chunk.sample_rate, SAMPLE_RATE).astype(np.float32)
            hop = 160
            n = audio.size // hop
            quiet = np.sqrt(np.mean(np.square(audio[:n * hop].reshape(n, hop)), axis=1)) < 0.003
            loud = np.flatnonzero(~quiet)
            first, last = int(loud[0]), int(loud[-1]) + 1
            runs, j = [], first  # quiet runs inside the speech: (start, end) in frames
            while j < last:
                k = j
                while quiet[k]:
                    k += 1
                if k > j:
                    runs.append((j, k))
                j = k + 1
            start, end = max(runs, key=lambda r: r[1] - r[0])
            out.append(Split(text, audio[first * hop:start * hop], audio[end * hop:last * hop],
                             np.zeros(0, np.float32)))
    finally:
        tts.close()
    return out


def evaluate(detector: SmartTurn, splits: list[Split], seed: int = 0) -> dict[str, object]:
    """False cut-offs in the pauses and detected ends of the finished utterances, per threshold."""
    pauses_ms = np.random.default_rng(seed).uniform(400, 800, len(splits))
    probs: dict[str, np.ndarray] = {}
    for ms in SILENCES_MS:
        probs[f"pause_{ms}ms"] = np.array([detector.probability(s.paused(ms)) for s in splits])
        probs[f"complete_{ms}ms"] = np.array([detector.probability(s.finished(p, ms))
                                              for s, p in zip(splits, pauses_ms)])
    thresholds = {}
    for threshold in THRESHOLDS:
        row = {}
        for ms in SILENCES_MS:
            row[f"false_cutoff_{ms}ms"] = round(float(np.mean(probs[f"pause_{ms}ms"] >= threshold)), 3)
            row[f"complete_detected_{ms}ms"] = round(float(np.mean(probs[f"complete_{ms}ms"] >= threshold)), 3)
        thresholds[str(threshold)] = row
    if all(s.mid_word is not None for s in splits):
        for ms in SILENCES_MS:
            probs[f"mid_word_{ms}ms"] = np.array([detector.probability(
                np.concatenate([s.mid_word, s.silence(ms)])) for s in splits])
            for threshold in THRESHOLDS:
                thresholds[str(threshold)][f"mid_word_judged_complete_{ms}ms"] = round(
                    float(np.mean(probs[f"mid_word_{ms}ms"] >= threshold)), 3)
    above = np.concatenate([probs[f"complete_{ms}ms"] > probs[f"pause_{ms}ms"] for ms in SILENCES_MS])
    return {"utterances": len(splits), "thresholds": thresholds,
            "median_probability": {k: round(float(np.median(v)), 3) for k, v in probs.items()},
            "complete_above_pause": round(float(np.mean(above)), 3)}


def _ms_per_call(detector: SmartTurn, speech: np.ndarray, calls: int = 50) -> float:
    """Median wall time of one call (features and model) over ``calls`` calls, after one warm call."""
    detector.probability(speech)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        detector.probability(speech)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def bench_turn_detect(human: int = 30) -> dict[str, object]:
    t_start = time.perf_counter()
    detector = SmartTurn(threads=1)
    splits = nsh_splits(human)
    speech = np.concatenate([s.finished(500, 0) for s in splits[:3]])[-8 * SAMPLE_RATE:]
    out: dict[str, object] = {"model": detector.describe()["model"], "threads": 1,
                              "ms_per_call": _ms_per_call(detector, speech),
                              "ms_per_call_2_threads": _ms_per_call(SmartTurn(threads=2), speech),
                              "inserted_pause_ms": [400, 800], "human": evaluate(detector, splits),
                              "human_questions": nsh_questions(detector)}
    out["rhvoice"] = evaluate(detector, rhvoice_splits())
    out["wall_s"] = round(time.perf_counter() - t_start, 1)
    return out


def main() -> None:
    print(json.dumps(bench_turn_detect(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
