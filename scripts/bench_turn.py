"""bench.py turn: spoken questions to the real server, end of user speech -> the avatar's answer.

The real server (uvicorn + Socket.IO, ``backend.background_server.serving``, in this process; Redis
if the settings name one) is asked ``--runs`` questions in ONE conversation, paced like a user:

- ``--speech human`` (the default): questions recorded by a real speaker, festvox-ru's nsh studio
  database (installed with Festival): the recordings whose text ends with «?» and whose speech lasts
  at most 7.5 s, trimmed to their first and last phone (the database's labels) plus 50 ms; when
  ``--runs`` asks for more, the recordings that open with a question, cut at the pause where it ends,
  then the list again. The expected text is the database's, stress marks removed. Smart Turn, the
  server's end-of-turn model, judges real speech far better than synthesized Russian
  (scripts/bench_turn_detect.py), so only these measure it.
- ``--speech tts``: short, single-sentence things a child asks, spoken by RHVoice voices other than
  the persona's (aleksandr, elena, anna in turn; Festival when RHVoice is missing).
- The questions are resampled to 16 kHz. A microphone streams PCM16 in real time for the whole
  conversation, in 100 ms pieces (what the web app's AudioWorklet posts), each sent when its last
  sample would have been captured: silence, and for each question 0.5 s of silence then the question.
  The end of user speech is the moment the question's last sample was captured.
- The answer is the newest turn the question started (a pause inside a question can start a turn
  on its first words that the rest then cuts short: ``turns_started`` > 1). The client "plays" it as
  the web app does: its first speech segment starts after the video already queued ahead of it
  (``queued_before_first_segment_s``), the next ones follow back to back, and a segment that arrives
  late stalls playback until it arrives. The answer is over at the later of that playback end and
  its ``turn_end``; the next question starts after 0.7 s of think time (plus its 0.5 s of silence).
- Before the first question the conversation is opened (``start``, pcm16 at 16 kHz, no greeting)
  and ``GET /api/personas/{id}/warmup`` is polled until the persona's prompt is prepared, then 2 s.

Per turn: the recording (human speech), the text heard (and its WER against the question), whether
the question was cut (``cut``: the server ended the user's turn before the question was over: more
than one turn or final transcript for it, or a final transcript before its last sample), the reply,
end of speech -> first speech segment at the client, when it plays (``plays_after_s``), end of
speech -> ``turn_end``, and the server's milestones (``asr_final_s``, ``first_token_s``,
``first_chunk_s``, ``first_segment_s``, seconds since the end of speech as the server's VAD saw
it). With openers on (``realtime.opener``) a reply to a question starts with a short opener, so its
first speech segment may be the opener: ``speech_end_to_first_model_segment_s`` is when the model's own
first clause was heard (``opener``: the turn had one). The summary gives p50/p95 (linear interpolation between closest ranks, numpy's default) of these
and of the stage differences, and ``early_cuts``, how many questions were cut: what the end-of-turn
rule is judged by.

``--set key.path=value`` (repeatable) overrides the server's settings, e.g. ``--set
vad.hangover_ms=200 --set llm.n_threads=1``; values are JSON where they parse, else strings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import socketio
import soxr

from ai_pipeline.asr.metrics import wer
from ai_pipeline.settings import Settings
from backend.background_server import serving

NS = "/conversation"
RATE = 16_000
PIECE = 1_600  # samples per audio message: 100 ms
LEAD_S = 0.5  # silence before each question
THINK_S = 0.7  # the user's pause between the end of an answer and the next question
SETTLE_S = 2.0  # after the persona is prepared, before the first question
REPLY_TIMEOUT_S = 60.0  # end of speech -> first speech segment, before the turn counts as failed
TURN_TIMEOUT_S = 180.0  # first speech segment -> turn_end
VOICES = ("aleksandr", "elena", "anna")  # the persona speaks with irina
QUESTIONS = [
    "Привет, как тебя зовут?",
    "Сколько тебе лет?",
    "Что ты любишь делать больше всего?",
    "А у тебя есть собака или кошка?",
    "Почему небо голубое?",
    "Какой у тебя любимый мультфильм?",
    "Ты ходишь в школу?",
    "Какой предмет в школе тебе нравится?",
    "Почему кошки мурлыкают?",
    "Во что ты любишь играть с друзьями?",
    "Какое животное самое большое на свете?",
    "Почему зимой идёт снег?",
    "Ты умеешь рисовать?",
    "Какая у тебя любимая сказка?",
]
MILESTONES = ("asr_final_s", "opener_s", "first_token_s", "first_chunk_s", "first_segment_s", "total_s")
STAGES = {"asr_final_s": ("asr_final_s", None), "llm_first_token_s": ("first_token_s", "asr_final_s"),
          "first_clause_s": ("first_chunk_s", "first_token_s"),
          "tts_and_video_s": ("first_segment_s", "first_chunk_s")}  # name: (milestone, minus milestone)
CLIENT = ("speech_end_to_first_segment_s", "plays_after_s", "speech_end_to_turn_end_s",
          "speech_end_to_playback_end_s")
TARGETS = {"p50": 1.2, "p95": 1.6}  # of speech_end_to_first_segment_s
MAX_HUMAN_S = 7.5  # a recorded question's speech, first phone to last
MARGIN_S = 0.05  # of the recording kept before the first and after the last phone


@dataclass(frozen=True)
class SpokenQuestion:
    text: str
    voice: str  # an RHVoice voice, "festival", or "nsh" (the recorded speaker)
    samples: np.ndarray  # float32, 16 kHz
    recording: str | None = None  # the nsh recording's id (e.g. "ru_0268"), human questions only

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE


# -- settings -------------------------------------------------------------------------------------


def parse_override(item: str) -> tuple[str, Any]:
    """``key.path=value`` -> (key path, value: JSON where it parses, else the string)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip() or any(not part for part in key.split(".")):
        raise ValueError(f"--set wants key.path=value, got {item!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def with_overrides(base: Settings, overrides: dict[str, Any]) -> Settings:
    """``base`` with each dotted key set, validated again (an unknown key or a bad value raises).

    Setting a stage's ``engine`` to another engine starts that section afresh (the old engine's
    options would not fit the new one); later keys of the section then apply to the new engine."""
    data = base.model_dump()
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = data
        for name in parents:
            child = node.setdefault(name, {})  # an unknown section stays: validation names it
            if not isinstance(child, dict):
                raise ValueError(f"--set {key}: {name!r} is a value, not a settings section")
            node = child
        if leaf == "engine" and node.get("engine") not in (None, value):
            node.clear()
        node[leaf] = value
    return Settings.model_validate(data)


# -- the questions ----------------------------------------------------------------------------------


def _letters(text: str) -> int:
    """Cyrillic letters that are sounds (soft and hard signs left out): about one phone each."""
    lower = text.lower()
    return len(re.findall(r"[а-яё]", lower)) - len(re.findall(r"[ьъ]", lower))


def _opening_question_end(text: str, phones: list[tuple[float, float, str]],
                          pauses: list[tuple[float, float, str]]) -> tuple[str, float] | None:
    """(the question, its end in seconds) when ``text`` opens with a question sentence that is
    followed by more; else None. Labels give phones, not words: the question's letters, scaled by
    the recording's phones per letter, say after how many phones it ends, and a pause that starts
    within a few phones of there is where it ends (no such pause: None)."""
    match = re.match(r"([^.!?…]+\?)\s*\S", text)
    if match is None:
        return None
    question = match.group(1).strip()
    expected = _letters(question) * len(phones) / max(_letters(text), 1)
    tolerance = max(3.0, 0.08 * expected)
    best = None
    for start, end, _ in pauses:
        before = sum(1 for p in phones if p[1] <= start + 1e-6)
        if abs(before - expected) <= tolerance and (best is None or abs(before - expected) < best[0]):
            best = (abs(before - expected), start)
    return None if best is None else (question, best[1])


def human_questions(count: int) -> list[SpokenQuestion]:
    """``count`` questions recorded by a real speaker (festvox-ru's nsh studio database), 16 kHz.

    First the recordings whose whole text is one question (one sentence, ending with «?») and whose
    speech lasts at most MAX_HUMAN_S, then the recordings that open with a question, cut where it ends
    (see :func:`_opening_question_end`), then the dialogue lines that end with a question after other
    sentences (a pause after a finished sentence may rightly end a turn); then the list again. Each keeps MARGIN_S of the recording
    before its first and after its last phone. The text is the database's, stress marks removed."""
    from bench_turn_detect import NSH, nsh_segments  # scripts/bench_turn_detect.py, beside this file

    from ai_pipeline.voice.profile import read_wav

    whole, opening, dialogue = [], [], []
    for line in (NSH / "etc" / "txt.done.data").read_text().splitlines():
        found = re.match(r'\(\s*(\S+)\s+"(.*)"\s*\)\s*$', line)
        if found is None or "?" not in found.group(2):
            continue
        name, text = found.group(1), found.group(2).replace("+", "").strip()
        segments = nsh_segments(name)
        phones = [s for s in segments if s[2] != "pau"]
        first, last = phones[0][0], phones[-1][1]
        if text.endswith("?"):
            if last - first <= MAX_HUMAN_S:
                one = len(re.findall(r"[.!?…]+(?:\s|$)", text)) == 1 and " - " not in text
                (whole if one else dialogue).append((name, text, first, last))
            continue
        pauses = [s for s in segments if s[2] == "pau" and first < s[0] < last]
        cut = _opening_question_end(text, phones, pauses)
        if cut is not None and cut[1] - first <= MAX_HUMAN_S:
            opening.append((name, cut[0], first, cut[1]))
    chosen = whole + opening + dialogue
    out = []
    for i in range(count):
        name, text, first, last = chosen[i % len(chosen)]
        audio = read_wav(NSH / "wav" / f"{name}.wav")
        lo = max(0, int((first - MARGIN_S) * audio.sample_rate))
        hi = min(len(audio.samples), int((last + MARGIN_S) * audio.sample_rate))
        samples = soxr.resample(audio.samples[lo:hi], audio.sample_rate, RATE).astype(np.float32)
        out.append(SpokenQuestion(text, "nsh", samples, recording=name))
    return out


def speak_questions(texts: list[str], progress: Callable[[str], None]) -> tuple[str, list[SpokenQuestion]]:
    """Each text spoken by the next of VOICES (RHVoice) or by Festival; (engine name, questions)."""
    from ai_pipeline.tts.rhvoice import RhvoiceSettings, RhvoiceTTS

    settings = RhvoiceSettings(voice=VOICES[0], phonemes=False)
    reason = RhvoiceTTS.availability(settings, Settings().models_dir)
    if reason is None:
        base = RhvoiceTTS(settings)
        base.load()
        engines = {v: base.with_voice(v) for v in VOICES}
        name = "rhvoice"
    else:
        from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

        progress(f"RHVoice unavailable ({reason}): questions spoken by festival")
        base = FestivalTTS(FestivalSettings())
        base.load()
        engines, name = {"festival": base}, "festival"
    spoken = []
    try:
        for i, text in enumerate(texts):
            voice = list(engines)[i % len(engines)]
            chunks = engines[voice].synthesize(text)
            audio = np.concatenate([c.samples for c in chunks])
            samples = soxr.resample(audio, chunks[0].sample_rate, RATE).astype(np.float32)
            spoken.append(SpokenQuestion(text, voice, samples))
    finally:
        base.close()
    return name, spoken


# -- the conversation -----------------------------------------------------------------------------


class Listener:
    """A Socket.IO client of the conversation namespace that records every event with its arrival time."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[float, str, Any]] = []
        self.sio.on("*", self._record, namespace=NS)

    async def _record(self, event: str, data: Any = None) -> None:
        if isinstance(data, dict) and isinstance(data.get("data"), bytes):
            data = {**data, "data": len(data["data"])}  # the video itself is not needed: keep its size
        self.events.append((time.perf_counter(), event, data))

    async def wait_for(self, match: Callable[[str, Any], bool], after: int,
                       timeout: float) -> tuple[float, str, Any]:
        """The first event from index ``after`` on that ``match(name, data)`` accepts (else TimeoutError)."""
        deadline = time.perf_counter() + timeout
        while True:
            found = next(((t, e, d) for t, e, d in self.events[after:] if isinstance(d, dict) and match(e, d)), None)
            if found is not None:
                return found
            if time.perf_counter() > deadline:
                errors = [d for _, e, d in self.events[after:] if e == "error"]
                raise TimeoutError(f"no such event within {timeout:.0f} s; errors: {errors}")
            await asyncio.sleep(0.01)

    def find(self, name: str, after: int, where: Callable[[Any], bool] = lambda d: True) -> tuple[float, Any] | None:
        return next(((t, d) for t, e, d in self.events[after:] if e == name and where(d)), None)

    async def wait(self, name: str, after: int, timeout: float) -> tuple[float, Any]:
        t, _, data = await self.wait_for(lambda e, d: e == name, after, timeout)
        return t, data


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


class Microphone:
    """Streams 16 kHz PCM16 in real time for the whole conversation: what was queued with :meth:`say`,
    silence otherwise. Piece k (samples k*PIECE..(k+1)*PIECE) leaves when its last sample would have
    been captured, so sample p belongs to the moment ``t0 + p / RATE``."""

    def __init__(self, sio: socketio.AsyncClient) -> None:
        self.sio = sio
        self.pending = np.zeros(0, np.float32)
        self.sent = 0  # samples taken for sending
        self.t0 = 0.0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.task = asyncio.create_task(self._run())

    def say(self, audio: np.ndarray) -> float:
        """Queue ``audio`` after what is still pending; the moment its last sample is captured."""
        end = self.sent + len(self.pending) + len(audio)
        self.pending = np.concatenate([self.pending, audio])
        return self.t0 + end / RATE

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self.t0 + (self.sent + PIECE) / RATE - time.perf_counter()))
            piece, self.pending = self.pending[:PIECE], self.pending[PIECE:]
            self.sent += PIECE
            await self.sio.emit("audio", _pcm16(np.pad(piece, (0, PIECE - len(piece)))), namespace=NS)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def _turn_of(e: str, d: dict[str, Any]) -> int:
    """The avatar turn an event belongs to (0: none)."""
    return int(d.get("turn", 0)) if e in ("reply", "timings", "segment", "turn_end", "interrupted") else 0


async def _ask(client: Listener, mic: Microphone, question: SpokenQuestion) -> dict[str, Any]:
    """Speak ``question`` and listen to the answer until it has played (plus think time); the turn's numbers.

    The answer is the last turn the question started: a pause inside the question may have started
    a turn on its first words, which the rest of the question then cut short (``turns_started`` > 1)."""
    mark = len(client.events)
    speech_end = mic.say(np.concatenate([np.zeros(int(LEAD_S * RATE), np.float32), question.samples]))
    await asyncio.sleep(max(0.0, speech_end - time.perf_counter()))
    before = max([_turn_of(e, d) for _, e, d in client.events[:mark] if isinstance(d, dict)], default=0)
    deadline = speech_end + REPLY_TIMEOUT_S
    while True:  # until the newest turn after the question has ended
        turns = [(_turn_of(e, d), e, t, d) for t, e, d in client.events[mark:] if isinstance(d, dict)]
        latest = max([n for n, *_ in turns], default=0)
        end = next(((t, d) for n, e, t, d in turns if e == "turn_end" and n == latest > before), None)
        if end is not None:
            break
        if latest > before:
            deadline = max(deadline, speech_end + TURN_TIMEOUT_S)
        if time.perf_counter() > deadline:
            return _failed(client, question, mark, speech_end, f"no answer ended (turn after {before})")
        await asyncio.sleep(0.02)
    (t_end, end), turn = end, latest
    is_speech = lambda d: d.get("kind") == "speech" and d.get("turn") == turn  # noqa: E731
    first = client.find("segment", mark, is_speech)
    if first is None:
        return _failed(client, question, mark, speech_end, f"turn {turn} ended ({end.get('reason')}) without speech")
    t_first = first[0]
    heard_first = min(t for n, e, t, d in turns if e == "segment" and d.get("kind") == "speech")
    server = dict(end.get("timings") or {})
    opened = "opener_s" in server  # the reply began with an opener: chunk 0 is not the model's
    model_first = next((t for t, e, d in client.events[mark:] if e == "segment" and is_speech(d)
                        and (not opened or d.get("chunk", 0) >= 1)), None)
    timings = client.find("timings", mark, lambda d: d.get("turn") == turn)
    queued = float(timings[1]["queued_before_first_segment_s"]) if timings else 0.0
    playhead, spoken_s = t_first + queued, 0.0  # the first segment plays after the video queued ahead of it
    for t, e, d in client.events[mark:]:
        if e == "segment" and is_speech(d):
            playhead = max(playhead, t) + float(d["duration"])  # a late segment stalls playback
            spoken_s += float(d["duration"])
    timed_finals = [(t, d["text"].strip()) for t, e, d in client.events[mark:]
                    if e == "transcript" and d.get("final") and t <= t_first and d["text"].strip()]
    finals = [text for _, text in timed_finals]
    early = sum(1 for t, _ in timed_finals if t < speech_end)
    heard = " ".join(finals)
    replies = sorted((d["index"], d["text"]) for _, e, d in client.events[mark:] if e == "reply" and d["turn"] == turn)
    done = max(playhead, t_end)
    await asyncio.sleep(max(0.0, done + THINK_S - time.perf_counter()))
    return {"question": question.text, "voice": question.voice, "recording": question.recording,
            "question_audio_s": round(question.duration, 2),
            "heard": heard, "finals": len(finals), "wer": round(wer(question.text, heard), 3),
            "reply": " ".join(text.strip() for _, text in replies), "turn": turn, "reason": end.get("reason"),
            "turns_started": turn - before, "finals_before_speech_end": early,
            "cut": turn - before > 1 or len(finals) > 1 or early > 0,
            "speech_end_to_first_segment_s": round(t_first - speech_end, 3),
            "speech_end_to_first_heard_segment_s": round(heard_first - speech_end, 3),  # of any turn
            "opener": opened,
            "speech_end_to_first_model_segment_s": round(model_first - speech_end, 3) if model_first else None,
            "queued_before_first_segment_s": round(queued, 3),
            "plays_after_s": round(t_first - speech_end + queued, 3),
            "speech_end_to_turn_end_s": round(t_end - speech_end, 3),
            "reply_audio_s": round(spoken_s, 3), "speech_end_to_playback_end_s": round(done - speech_end, 3),
            "server": server, "stages": _stages(server)}


def _failed(client: Listener, question: SpokenQuestion, mark: int, speech_end: float, error: str) -> dict[str, Any]:
    """A turn that got no answer: what was heard, and the events after the question (idle video left out)."""
    timed_finals = [(t, d["text"].strip()) for t, e, d in client.events[mark:]
                    if e == "transcript" and isinstance(d, dict) and d.get("final") and d.get("text", "").strip()]
    early = sum(1 for t, _ in timed_finals if t < speech_end)
    keep = ("turn", "text", "final", "reason", "kind")
    seen = [(round(t - speech_end, 2), e, {k: v for k, v in d.items() if k in keep} if isinstance(d, dict) else d)
            for t, e, d in client.events[mark:] if not (isinstance(d, dict) and d.get("kind") == "idle")]
    return {"question": question.text, "voice": question.voice, "recording": question.recording,
            "heard": " ".join(text for _, text in timed_finals), "finals": len(timed_finals),
            "finals_before_speech_end": early, "cut": len(timed_finals) > 1 or early > 0, "error": error,
            "events": seen[:60]}


def _stages(server: dict[str, float]) -> dict[str, float]:
    out = {}
    for name, (milestone, minus) in STAGES.items():
        if milestone in server and (minus is None or minus in server):
            out[name] = round(server[milestone] - (server[minus] if minus else 0.0), 4)
    return out


async def _wait_prepared(url: str, persona_id: int, timeout: float, progress: Callable[[str], None]) -> dict[str, Any]:
    """Poll the persona's preparation until it is ready (or failed, or ``timeout`` passed)."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while True:
            response = await http.get(f"/api/personas/{persona_id}/warmup")
            response.raise_for_status()
            state = response.json()
            waited = round(time.perf_counter() - started, 2)
            if state["status"] in ("ready", "failed") or waited > timeout:
                if state["status"] != "ready":
                    progress(f"persona preparation not ready after {waited} s: {state['status']}")
                return {"status": state["status"], "waited_s": waited, "seconds": state.get("seconds"),
                        "restored": state.get("restored")}
            await asyncio.sleep(0.25)


async def _conversation(url: str, questions: list[SpokenQuestion], warmup_timeout: float,
                        progress: Callable[[str], None]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    client = Listener()
    await client.sio.connect(url, namespaces=[NS], transports=["websocket"])
    mic = Microphone(client.sio)
    try:
        await client.sio.emit("start", {"audio_format": "pcm16", "sample_rate": RATE, "greet": False}, namespace=NS)
        _, ready = await client.wait("ready", 0, 120)
        warmup = await _wait_prepared(url, ready["persona_id"], warmup_timeout, progress)
        progress(f"persona {ready['persona_id']} preparation: {warmup}")
        mic.start()  # the microphone is on from here to the end
        await asyncio.sleep(SETTLE_S)
        turns = []
        for i, question in enumerate(questions):
            turns.append(await _ask(client, mic, question))
            t = turns[-1]
            progress(f"turn {i + 1}/{len(questions)}: {t.get('error') or t['speech_end_to_first_segment_s']} "
                     f"| cut: {t['cut']} | heard: {t['heard']!r} | reply: {t.get('reply', '')[:60]!r}")
    finally:
        await mic.close()
        await client.sio.disconnect()
    return warmup, turns


# -- the report ---------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p95 (linear interpolation between closest ranks) and max."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p50, p95 = np.percentile(np.asarray(values, float), [50, 95])
    return {"n": len(values), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "max": round(max(values), 3)}


def summarize(turns: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [t for t in turns if "error" not in t]
    out: dict[str, Any] = {"turns": len(turns), "failed_turns": len(turns) - len(ok),
                           "percentiles": "linear interpolation between closest ranks (numpy default)"}
    for key in CLIENT:
        out[key] = percentiles([t[key] for t in ok])
    # with openers (realtime.opener) the first segment may be the opener: when the model's own first
    # clause was heard, reported apart
    out["speech_end_to_first_model_segment_s"] = percentiles(
        [t["speech_end_to_first_model_segment_s"] for t in ok if t.get("speech_end_to_first_model_segment_s")])
    out["opened_turns"] = sum(1 for t in ok if t.get("opener"))
    out["server_milestones"] = {key: percentiles([t["server"][key] for t in ok if key in t["server"]])
                                for key in MILESTONES}
    out["server_stages"] = {key: percentiles([t["stages"][key] for t in ok if key in t["stages"]]) for key in STAGES}
    wers = [t["wer"] for t in ok]
    out["asr_wer_mean"] = round(float(np.mean(wers)), 3) if wers else None
    # the end-of-turn rule ended the user's turn before the question was over (failed turns included)
    out["early_cuts"] = sum(1 for t in turns if t["cut"])
    out["early_cut_turns"] = [i + 1 for i, t in enumerate(turns) if t["cut"]]
    return out


def bench_turn(runs: int, overrides: dict[str, Any], warmup_timeout: float,
               progress: Callable[[str], None], speech: str = "human") -> dict[str, Any]:
    if speech == "human":
        questions = human_questions(runs)
        voices: dict[str, Any] = {"speech": "human", "source": "festvox-ru msu_ru_nsh (studio recordings)",
                                  "recordings": [q.recording for q in questions]}
        progress(f"{len(questions)} recorded questions: {', '.join(voices['recordings'])}")
    else:
        texts = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]
        voice_engine, questions = speak_questions(texts, progress)
        voices = {"speech": "tts", "engine": voice_engine, "voices": [q.voice for q in questions]}
        progress(f"{len(questions)} questions spoken by {voice_engine}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = with_overrides(Settings(data_dir=Path(tmp)), overrides)
        with serving(settings) as url:
            progress(f"server up at {url}")
            engines = httpx.get(f"{url}/api/health", timeout=30).json().get("engines")
            warmup, turns = asyncio.run(_conversation(url, questions, warmup_timeout, progress))
    summary = summarize(turns)
    first = summary["speech_end_to_first_segment_s"]
    met = first["n"] > 0 and first["p50"] <= TARGETS["p50"] and first["p95"] <= TARGETS["p95"]
    return {"bench": "turn", "summary": summary,
            "targets": {**TARGETS, "of": "speech_end_to_first_segment_s", "met": met},
            "settings": overrides, "engines": engines, "question_voices": voices,
            "persona_preparation": warmup, "cpu_count": psutil.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "load_avg_1m": round(psutil.getloadavg()[0], 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # server included
            "turns": turns}


def _progress(stage: str) -> None:
    print(f"[bench] {stage}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.py turn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="spoken questions, one conversation (default 10)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a server setting (repeatable), e.g. vad.hangover_ms=200")
    parser.add_argument("--warmup-timeout", type=float, default=60.0,
                        help="seconds to wait for the persona's preparation before the first question")
    parser.add_argument("--speech", choices=("human", "tts"), default="human",
                        help="questions recorded by a person (festvox-ru nsh, default) or spoken by RHVoice")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        overrides = dict(parse_override(item) for item in args.overrides)
        with_overrides(Settings(), overrides)  # fail before minutes of synthesis and start-up
    except ValueError as exc:  # pydantic's ValidationError included
        parser.error(str(exc))
    result = bench_turn(args.runs, overrides, args.warmup_timeout, _progress, args.speech)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
