"""End of turn and speculative recognition in the streaming recogniser, on real speech (Festival) and
the real silero VAD. The ASR is the segmentation tests' :class:`DurationASR` (its text is the length
of the audio it heard); the turn detector here is :class:`LengthRule`, a small real detector whose
verdict is a rule on the audio it is given, so each path of the end-of-turn logic can be driven."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from ai_pipeline.asr.streaming import FinalTranscript, PartialTranscript, SpeechEnded, StreamingRecognizer
from ai_pipeline.settings import VADSettings
from tests.ai_pipeline.test_vad_streaming import (FIRST, SECOND, SR, DurationASR, chunks_of, heard, noise, of,
                                                  run_stream, say, tts, with_floor)  # noqa: F401 (fixtures)

PLAIN = "Какой твой любимый цвет?"  # no pause inside (Festival, silero)
SILENCE_ONLY = dict(end_of_turn="silence", partial_every_ms=100_000)


class LengthRule:
    """Says "finished" when the audio it hears is at least ``min_s`` long (``None``: never); may fail."""

    def __init__(self, min_s: float | None, fail: bool = False) -> None:
        self.min_s, self.fail = min_s, fail
        self.heard: list[float] = []

    def probability(self, samples: np.ndarray) -> float:
        self.heard.append(samples.size / SR)
        if self.fail:
            raise RuntimeError("detector broke")
        return 0.9 if self.min_s is not None and samples.size / SR >= self.min_s else 0.1


def question(say, text: str = FIRST, tail_s: float = 2.0) -> np.ndarray:
    return with_floor(np.concatenate([noise(0.5), say(text).samples, noise(tail_s)]))


def test_speculative_transcript_becomes_the_final_one(say) -> None:
    """The silence is transcribed once, before the end of turn is decided; no second call."""
    asr = DurationASR()
    settings = VADSettings(**SILENCE_ONLY)
    events = asyncio.run(run_stream(StreamingRecognizer(asr, settings, max_utterance_s=30), question(say, PLAIN)))
    (ended,), (final,) = of(events, SpeechEnded), of(events, FinalTranscript)
    assert asr.durations == [heard(final)]
    spoken = ended.at_s - final.start_s + settings.pad_ms / 1000
    assert spoken + settings.speculative_asr_ms / 1000 - 1e-3 <= heard(final) <= spoken + settings.pad_ms / 1000
    # when it was ready before the turn ended, the speculative transcript was handed out as a partial one
    for partial in of(events, PartialTranscript):
        assert partial.transcript.text == final.transcript.text and events.index(partial) < events.index(ended)


def test_speculation_off_transcribes_after_the_end(say) -> None:
    asr = DurationASR()
    settings = VADSettings(**SILENCE_ONLY, speculative_asr_ms=0)
    events = asyncio.run(run_stream(StreamingRecognizer(asr, settings, max_utterance_s=30), question(say)))
    (ended,), (final,) = of(events, SpeechEnded), of(events, FinalTranscript)
    assert not of(events, PartialTranscript) and len(asr.durations) == 1
    assert heard(final) == pytest.approx(ended.at_s - final.start_s + 2 * settings.pad_ms / 1000, abs=1e-3)


def test_a_pause_shorter_than_the_hangover_discards_the_speculation(say) -> None:
    """The pause after «Привет,» (about 0.2 s) starts a speculative call; speech goes on, so it is
    dropped and the one final covers the whole question."""
    asr = DurationASR(delay_s=0.05)
    settings = VADSettings(**SILENCE_ONLY)
    speech = say(FIRST)
    events = asyncio.run(run_stream(StreamingRecognizer(asr, settings, max_utterance_s=30), question(say)))
    (final,) = of(events, FinalTranscript)
    assert heard(final) > speech.last_s - speech.first_s
    assert len(asr.durations) == 2 and asr.durations[0] < 1.5 and asr.durations[1] == heard(final)
    assert all(p.transcript.text == final.transcript.text for p in of(events, PartialTranscript))


def test_transcript_is_ready_sooner_when_fed_in_real_time(say) -> None:
    """With a 0.3 s recogniser, the final comes about when the hangover ends, not hangover + ASR."""
    audio = question(say, tail_s=1.5)
    delay = 0.3

    async def live(settings: VADSettings) -> FinalTranscript:
        recognizer = StreamingRecognizer(DurationASR(delay_s=delay), settings, max_utterance_s=30)

        async def microphone():
            for chunk in chunks_of(audio):
                await asyncio.sleep(chunk.size / SR)
                yield chunk

        finals = [e async for e in recognizer.events(microphone()) if isinstance(e, FinalTranscript)]
        return finals[0]

    speculative = asyncio.run(live(VADSettings(**SILENCE_ONLY)))
    after = asyncio.run(live(VADSettings(**SILENCE_ONLY, speculative_asr_ms=0)))
    assert after.latency_s >= 0.3 + delay
    assert speculative.latency_s < after.latency_s - 0.1


async def live(recognizer: StreamingRecognizer, audio: np.ndarray) -> list:
    """Feed ``audio`` in real time, as a microphone would, and collect every event."""
    async def microphone():
        for chunk in chunks_of(audio):
            await asyncio.sleep(chunk.size / SR)
            yield chunk

    return [e async for e in recognizer.events(microphone())]


def test_detector_ends_a_finished_turn_early(say) -> None:
    """Asked once the speculative transcript is ready (here at once), the detector ends the turn after
    turn_check_ms of silence, well before max_hangover_ms."""
    turn = LengthRule(min_s=1.6)  # the pause after «Привет,» is heard as unfinished
    settings = VADSettings(partial_every_ms=100_000)
    asr = DurationASR()
    events = asyncio.run(live(StreamingRecognizer(asr, settings, max_utterance_s=30, turn=turn), question(say)))
    (ended,), (final,) = of(events, SpeechEnded), of(events, FinalTranscript)
    assert turn.heard, "the detector was asked"
    assert final.latency_s < (settings.turn_check_ms + 160) / 1000 + 0.1
    assert turn.heard[-1] == pytest.approx(ended.at_s - final.start_s + settings.pad_ms / 1000
                                          + settings.turn_check_ms / 1000, abs=0.17)
    assert heard(final) == asr.durations[-1] and asr.durations.count(heard(final)) == 1


def test_detector_waits_for_the_speculative_transcript(say) -> None:
    """With turn_after_transcript the detector is asked when the transcript is ready."""
    turn = LengthRule(min_s=1.6)
    settings = VADSettings(partial_every_ms=100_000, turn_after_transcript=True)
    asr = DurationASR(delay_s=0.5)
    events = asyncio.run(live(StreamingRecognizer(asr, settings, max_utterance_s=30, turn=turn), question(say)))
    (ended,), (final,) = of(events, SpeechEnded), of(events, FinalTranscript)
    silence_when_asked = turn.heard[-1] - (ended.at_s - final.start_s + settings.pad_ms / 1000)
    assert silence_when_asked >= settings.speculative_asr_ms / 1000 + 0.5 - 0.05
    assert final.latency_s < settings.speculative_asr_ms / 1000 + 0.5 + 0.25  # not max_hangover_ms
    assert asr.durations.count(heard(final)) == 1


@pytest.mark.parametrize("detector", [LengthRule(min_s=None), LengthRule(min_s=0.5, fail=True)],
                         ids=["unfinished", "failing"])
def test_unfinished_or_failing_detector_waits_for_the_long_hangover(say, detector: LengthRule) -> None:
    settings = VADSettings(partial_every_ms=100_000, max_hangover_ms=900)
    events = asyncio.run(run_stream(StreamingRecognizer(DurationASR(), settings, max_utterance_s=30, turn=detector),
                                    question(say)))
    (final,) = of(events, FinalTranscript)
    assert detector.heard  # asked (again every turn_check_ms once the transcript is ready) while the silence lasted
    assert 0.9 <= final.latency_s < 0.9 + 0.2


def test_silence_mode_ignores_the_detector(say) -> None:
    turn = LengthRule(min_s=0.5)
    settings = VADSettings(**SILENCE_ONLY)
    events = asyncio.run(run_stream(StreamingRecognizer(DurationASR(), settings, max_utterance_s=30, turn=turn),
                                    question(say)))
    (final,) = of(events, FinalTranscript)
    assert not turn.heard and final.latency_s >= settings.hangover_ms / 1000


class SlowRule(LengthRule):
    """A detector that takes ``delay_s`` to answer "finished"; ``asked`` is set when a call begins."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(min_s=0.0)
        self.delay_s = delay_s
        self.asked = threading.Event()

    def probability(self, samples: np.ndarray) -> float:
        self.asked.set()
        time.sleep(self.delay_s)
        return super().probability(samples)


@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed"])
def test_close_ends_the_deferred_check(say, closed: bool) -> None:
    """The end-of-turn check that waited for the speculative transcript runs as its own task; when the
    client leaves (close) that task ends at once, and no transcript comes out of it."""
    settings = VADSettings(partial_every_ms=100_000, turn_after_transcript=True, max_hangover_ms=3000)
    rule = SlowRule(0.8)

    async def scenario() -> tuple[list, list]:
        recognizer = StreamingRecognizer(DurationASR(delay_s=0.2), settings, max_utterance_s=30, turn=rule)
        await recognizer.feed(question(say, tail_s=0.4))  # speculative call running, the check waits for it
        assert await asyncio.to_thread(rule.asked.wait, 3.0), "the deferred check never asked the detector"
        if closed:
            recognizer.close()
        await asyncio.sleep(0.05)
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        await asyncio.sleep(1.0)  # past the detector's answer
        return running, recognizer._take_ready()

    running, events = asyncio.run(scenario())
    assert bool(running) is not closed
    assert bool(of(events, FinalTranscript)) is not closed
