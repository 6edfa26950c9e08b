"""One connected client: its microphone stream, its turns, its avatar video.

Audio chunks are decoded incrementally and fed to the streaming recogniser; a final transcript (or
a text message) starts a turn: the brain streams reply chunks, each is synthesised (or taken from
the Redis clip cache) and queued on the avatar stream, which renders and sends it. The user starting
to speak, or ``stop``, interrupts the turn: the LLM stops, queued speech is dropped, the client is told.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_pipeline.asr.streaming import (FinalTranscript, PartialTranscript, RecognitionFailed, SpeechEnded,
                                      SpeechStarted, StreamingRecognizer)
from ai_pipeline.chunks import AudioChunk, PhonemeMark, ReplyChunk
from ai_pipeline.errors import AvatarError
from ai_pipeline.gpu import gpu_manager
from ai_pipeline.media.stream_decode import StreamDecoder
from ai_pipeline.streaming import Emitted, SpeechStream, stream_mime
from ai_pipeline.text import normalize_for_speech
from ai_pipeline.timing import StageTimer
from ai_pipeline.tts.base import TTSEngine
from ai_pipeline.voice.base import Voice
from ai_pipeline.voice.speaker import VoicedTTS
from ai_pipeline.voice.store import VoiceStore
from backend.db.personas import first_persona_id, get_persona
from backend.realtime.commands import pack_audio_chunk, unpack_audio_chunk
from backend.realtime.events import (ErrorEvent, InterruptedEvent, ProgressEvent, ReplyEvent, SpeechStartEvent,
                                     TimingsEvent, TranscriptEvent, TurnEndEvent, media_event, to_wire)
from backend.realtime.protocol import StartMessage
from backend.realtime.remote_stream import RemoteStream
from backend.tts_voices import persona_tts, standard_voice_name

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)
Emit = Callable[[str, Any], Awaitable[None]]


class LiveSession:
    """State and tasks of one connection (created by the namespace on ``start``)."""

    def __init__(self, services: Runtime, emit: Emit, sid: str = "") -> None:
        self.services = services  # the process's runtime: pipeline, brain, settings, cache, vad, queue
        self.sid = sid
        self.emit = emit
        self.turn = 0
        self.turn_task: asyncio.Task[None] | None = None
        self.stream: SpeechStream | None = None  # local (AvatarStream) or on a render worker (RemoteStream)
        self.stream_task: asyncio.Task[None] | None = None
        self.warm_task: asyncio.Task[Any] | None = None
        self.anticipate_task: asyncio.Task[Any] | None = None  # the prompt evaluated on a partial transcript
        self._drafting = False  # that task begins the reply on a speculative transcript
        self.listen_task: asyncio.Task[None] | None = None  # transcripts that finish between chunks
        self.recognizer: StreamingRecognizer | None = None
        self.decoder: StreamDecoder | None = None
        self.persona_id = 0
        self.voice: Voice | None = None  # the persona's enrolled voice
        self.tts_voice: str | None = None  # the persona's standard voice (None: the engine's for its gender)
        self.gender: str | None = None
        self._tts: tuple[TTSEngine, TTSEngine] | None = None  # (the pipeline's engine, its view in the persona's voice)
        self.session_id = 0
        self.client = "anonymous"  # the peer address, the key of its rate limits
        self._timers: dict[int, StageTimer] = {}
        self._scripted = False  # the running turn says a scripted line (the greeting)
        self._continues = False  # the next transcript goes on the last question (its reply was never heard)
        self._heard = 0  # the newest utterance the user started
        self._held: list[str] = []  # transcripts of utterances the user went on from before they were answered
        self.closed = False
        self.flooding = False  # over the event rate limit (told once per burst)
        self._limited_at = 0.0  # when the client was last told it asks too often
        self.starting = False  # set before the first await of ``start``: one stream per client
        self._start_task: asyncio.Task[Any] | None = None
        self._input = asyncio.Lock()  # a client's audio and text are handled in the order they came
        self._gpu_live = False  # counted by the VRAM ledger as an open conversation (background work evicts nothing)
        self._used_at = 0.0  # monotonic time of the user's last turn or speech (see _release_when_idle)
        self.idle_task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Whether this client holds a conversation slot (starting or started)."""
        return not self.closed and (self.starting or self.stream is not None)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, msg: StartMessage) -> dict[str, Any]:
        """Open the conversation; a disconnect during it cancels it and leaves nothing running."""
        if self.closed or self.starting or self.stream is not None:
            raise AvatarError("Разговор уже начат.", "already started", code="already_started")
        self.services.admit(self)  # raises ``busy`` when every slot is taken
        self.starting = True
        self._start_task = asyncio.current_task()
        try:
            return await self._start(msg)
        except BaseException:
            await self._stop_tasks()
            raise
        finally:
            self.starting = False
            self._start_task = None

    async def _start(self, msg: StartMessage) -> dict[str, Any]:
        s = self.services
        pipeline, brain, settings = s.pipeline, s.brain, s.settings
        self._in_use()  # from now on a voice training gives way to this conversation's engines
        self.persona_id = msg.persona_id or await s.db.call(first_persona_id)
        self.session_id = await brain.open_session(self.persona_id, msg.session_id)
        await self.emit(*to_wire(ProgressEvent(stage="avatar", value=0.0, message="Подготовка аватара")))
        avatar = await asyncio.to_thread(pipeline.avatar_by_id, msg.avatar_id)
        await self.emit(*to_wire(ProgressEvent(stage="avatar", value=1.0, message="Аватар готов")))
        warnings = list(avatar.warnings)
        self.voice = await self._persona_voice(warnings)
        self.decoder = StreamDecoder(msg.audio_format, msg.sample_rate,
                                     max_seconds=settings.limits.max_audio_seconds * 20)
        self.recognizer = StreamingRecognizer(pipeline.asr, settings.vad, settings.limits.max_utterance_seconds,
                                              vad=s.vad.clone(), turn=s.turn)
        if settings.realtime.executor == "queue" and s.queue is not None:
            remote = RemoteStream(s.redis, s.queue, self.sid, avatar.id, pipeline.tts.sample_rate,
                                  stream_mime(settings.encoder, pipeline.head, pipeline.tts.sample_rate),
                                  on_first_segment=self.first_segment)
            await remote.start()
            self.stream = remote
        else:
            self.stream = pipeline.live_stream(avatar, self._send_segment, sample_rate=pipeline.tts.sample_rate)
        self.stream_task = asyncio.create_task(self.stream.run())
        self.listen_task = asyncio.create_task(self._listen(self.recognizer))
        greeting = await brain.greeting(self.persona_id)
        if msg.greet:
            await self.start_turn(greeting, StageTimer(), scripted=True)
        # the persona's prompt state (stored when the persona was made) goes into the KV cache while
        # the greeting plays or the user thinks, so the first answer does not wait for it
        self.warm_task = asyncio.create_task(brain.warm(self.persona_id, self.session_id))
        if settings.training.idle_conversation_s > 0:
            self._used_at = time.monotonic()  # idle from when the conversation is ready
            self.idle_task = asyncio.create_task(self._release_when_idle(settings.training.idle_conversation_s))
        return {"persona_id": self.persona_id, "session_id": self.session_id, "avatar_id": avatar.id,
                "greeting": greeting, "warnings": warnings, "mime": self.stream.mime,
                "voice": self.voice.key if self.voice else None, "tts_voice": standard_voice_name(self.tts())}

    def _in_use(self) -> None:
        """The user speaks or asks: the conversation counts with the VRAM ledger as open (again)."""
        self._used_at = time.monotonic()
        if not self._gpu_live and self.active:
            gpu_manager().live_open()
            self._gpu_live = True

    def _not_in_use(self) -> None:
        """The conversation no longer counts as open (it ended, or nobody has spoken for a while)."""
        if self._gpu_live:
            gpu_manager().live_close()
            self._gpu_live = False

    async def _release_when_idle(self, idle_s: float) -> None:
        """A conversation left open with no turn for ``idle_s`` stops counting as open, so a voice training
        paused for it goes on (and may evict its idle engines); the user's next speech or text counts it
        again, and the training gives way again after its current step."""
        while True:
            wait = self._used_at + idle_s - time.monotonic()
            if not self._gpu_live or wait > 0:
                await asyncio.sleep(max(wait, 1.0) if self._gpu_live else idle_s)
            elif self.turn_task is not None and not self.turn_task.done():
                self._used_at = time.monotonic()  # idle from the end of the reply
                await asyncio.sleep(1.0)
            else:
                self._not_in_use()
                log.info("client %s: no turn for %.0f s; a voice training may use the GPU again", self.sid, idle_s)

    def tts(self) -> TTSEngine:
        """The pipeline's TTS engine speaking the persona's standard voice (followed across engine switches)."""
        base = self.services.pipeline.tts
        assert base is not None, "the tts stage is loaded"
        if self._tts is None or self._tts[0] is not base:
            self._tts = (base, persona_tts(base, self.tts_voice, self.gender, who=self.persona_id))
        return self._tts[1]

    async def _persona_voice(self, warnings: list[str]) -> Voice | None:
        """The persona's voices: its standard one (``tts_voice``; else, with an enrolled voice, the base its
        preparation found closest; else the engine's for its gender) and its enrolled one, made ready
        before the first turn (None: the standard voice as is).

        A voice that is gone or cannot be used is a warning, not a failed connection."""
        s = self.services
        voice_id, self.tts_voice, self.gender = await s.db.call(_persona_voices, self.persona_id)
        self._tts = None
        tts = self.tts()
        if not voice_id:
            return None
        await self.emit(*to_wire(ProgressEvent(stage="voice", value=0.0, message="Подготовка голоса")))
        try:
            voice, base = await asyncio.to_thread(_enrolled, VoiceStore(s.settings.voices_dir, limits=s.settings.limits),
                                                  voice_id)
            if self.tts_voice is None and base:
                self.tts_voice, self._tts = base, None  # no pick: the base preparation found closest
                tts = self.tts()
            await asyncio.to_thread(VoicedTTS(tts, voice).matcher)  # profile + calibration, once
        except AvatarError as exc:
            log.warning("persona %s: voice %s unusable: %s", self.persona_id, voice_id, exc)
            warnings.append(f"Голос персонажа недоступен ({exc.message_ru}); используется стандартный голос.")
            return None
        await self.emit(*to_wire(ProgressEvent(stage="voice", value=1.0, message="Голос готов")))
        return voice

    async def close(self, grace_s: float = 2.0) -> None:
        """End everything this client started: the start itself, its turn, its stream, its decoder."""
        self.closed = True
        if self._start_task is not None and self._start_task is not asyncio.current_task():
            self._start_task.cancel()
        await self._stop_tasks(grace_s)

    async def _stop_tasks(self, grace_s: float = 2.0) -> None:
        if self.stream:
            self.stream.interrupt(self.turn)
        tasks = [t for t in (self._start_task, self.turn_task, self.warm_task, self.anticipate_task,
                             self.stream_task, self.listen_task, self.idle_task)
                 if t is not None and not t.done() and t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                log.warning("client %s: %s did not end within %.1f s of cancellation", self.sid, task, grace_s)
        self.stream_task = self.warm_task = self.anticipate_task = self.turn_task = self.listen_task = None
        self.idle_task = None
        self.stream = None
        self._not_in_use()
        if self.recognizer is not None:  # its deferred end-of-turn check and ASR result go nowhere
            self.recognizer.close()
        if self.decoder is not None:
            await asyncio.to_thread(self.decoder.close)
            self.decoder = None

    # -- input --------------------------------------------------------------------------------

    async def audio(self, data: bytes) -> None:
        async with self._input:
            decoder, recognizer = self._listening()
            try:
                samples = await asyncio.to_thread(decoder.push, data)
            except AvatarError:
                await self._new_decoder(decoder)  # the next recording starts clean
                raise
            if len(samples):
                await self._handle(await recognizer.feed(samples))

    async def audio_end(self) -> None:
        async with self._input:
            decoder, recognizer = self._listening()
            try:
                tail = await asyncio.to_thread(decoder.finish)
            except AvatarError:
                tail = np.zeros(0, np.float32)  # the error was reported when the bad chunk came
            finally:
                await self._new_decoder(decoder)
            events = await recognizer.feed(tail) if len(tail) else []
            await self._handle(events + await recognizer.flush())

    async def text(self, text: str) -> None:
        self._in_use()
        async with self._input:
            await self.start_turn(self.services.pipeline.check_text(text), StageTimer())

    async def _listen(self, recognizer: StreamingRecognizer) -> None:
        """Hand on transcripts that become ready while no audio arrives (the ASR finished after the
        client's last chunk): without this they would wait for the next chunk, maybe forever."""
        while True:
            events = await recognizer.next_ready()
            async with self._input:
                try:
                    await self._handle(events)
                except AvatarError as exc:
                    await self.emit(*to_wire(ErrorEvent.of(exc)))
                except Exception:  # keep listening: one bad event must not deafen the session
                    log.exception("client %s: handling a transcript failed", self.sid)

    def _listening(self) -> tuple[StreamDecoder, StreamingRecognizer]:
        if self.decoder is None or self.recognizer is None:
            raise AvatarError("Сначала начните разговор (событие start).", "send start first", code="not_started")
        return self.decoder, self.recognizer

    async def _new_decoder(self, old: StreamDecoder) -> None:
        await asyncio.to_thread(old.close)
        if self.decoder is old and not self.closed:
            self.decoder = StreamDecoder(old.fmt, old.input_rate, max_seconds=old.max_seconds)

    async def _handle(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, SpeechEnded):
                self._attend(False)
                self._think(True)  # the user waits from here: recognising and replying get the cores
            elif isinstance(event, SpeechStarted):
                self._in_use()
                self._think(False)
                self._attend(True)  # the avatar listens: eyes on the user, small nods
                if self._drafting:  # the reply begun on the silence's transcript is void: the cores go to ASR
                    self._anticipate(None)
                self._heard = max(self._heard, event.utterance)
                if self.turn_task and not self.turn_task.done():
                    # speaking again before the reply was heard: the turn ended too early (a pause mid-sentence)
                    self._continues = not self._scripted and "first_segment" not in self._timers[self.turn].milestones
                    await self.interrupt("continued" if self._continues else "barge_in")
                await self.emit(*to_wire(SpeechStartEvent(at_s=event.at_s)))
            elif isinstance(event, RecognitionFailed):  # the user is told, the microphone stays on
                log.warning("client %s: recognition failed: %s", self.sid, event.error)
                await self.emit(*to_wire(ErrorEvent.of(event.error)))
                if self._held and event.utterance >= self._heard:  # what was heard before it is still answered
                    await self.start_turn(" ".join(self._held), StageTimer(), continues=self._continues)
            elif isinstance(event, PartialTranscript):
                await self.emit(*to_wire(TranscriptEvent(**event.transcript.to_dict())))
                self._anticipate(event.transcript.text, whole=event.speculative and not (self._held or self._continues))
            elif isinstance(event, FinalTranscript):
                self._anticipate(None)
                text = event.transcript.text.strip()
                if text and event.utterance < self._heard:  # the user already went on speaking: wait for the rest
                    self._held.append(text)  # (the client sees it as a partial transcript)
                    await self.emit(*to_wire(TranscriptEvent(**{**event.transcript.to_dict(), "final": False})))
                    continue
                text = " ".join([*self._held, text]).strip()
                await self.emit(*to_wire(TranscriptEvent(**{**event.transcript.to_dict(), "text": text})))
                if not text and not self._continues:
                    self._think(False)  # only noise: no reply is coming
                if text or self._continues:  # (a continuation that was only noise: the question as it was)
                    timer = StageTimer()
                    timer.start -= event.latency_s  # the turn's clock starts when the user stopped speaking
                    timer.stages["asr"] = event.transcript.processing_s
                    timer.mark("asr_final")
                    await self.start_turn(text, timer, continues=self._continues)

    # -- turns --------------------------------------------------------------------------------

    async def start_turn(self, text: str, timer: StageTimer, *, scripted: bool = False,
                         continues: bool = False) -> None:
        limiter, per_minute = self.services.limiter, self.services.settings.realtime.turns_per_minute
        if limiter is not None and not scripted:
            # one budget per connection, a larger one per address (a reconnect does not reset it)
            for key, limit in ((f"turns:sid:{self.sid}", per_minute),
                               (f"turns:peer:{self.services.client_key(self)}", per_minute * 3)):
                decision = await limiter.hit(key, limit=limit, window_s=60)
                if not decision.allowed:
                    if time.monotonic() - self._limited_at < 2.0:
                        return  # told a moment ago: a burst gets one answer, not one per message
                    self._limited_at = time.monotonic()
                    message = f"Слишком много вопросов подряд. Подождите {decision.retry_after_s:.0f} с."
                    await self.emit(*to_wire(ErrorEvent(code="rate_limited", message=message, detail=message,
                                                        retry_after_s=round(decision.retry_after_s, 1))))
                    return
        await self.interrupt("new_turn")
        self.turn += 1
        self._timers = {t: tm for t, tm in self._timers.items() if t > self.turn - 4}
        self._timers[self.turn] = timer
        self._scripted, self._continues, self._held = scripted, False, []
        self.turn_task = asyncio.create_task(self._run_turn(self.turn, text, timer, scripted, continues))

    async def interrupt(self, reason: str, *, notify: bool = True) -> None:
        task, turn = self.turn_task, self.turn
        if self.stream:
            self.stream.interrupt(turn)
        if task and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if notify:
                await self.emit(*to_wire(InterruptedEvent(
                    turn=turn, reason=reason, media_time=self.stream.media_time if self.stream else 0.0)))

    async def _replies(self, text: str, timer: StageTimer, scripted: bool,
                       continues: bool) -> AsyncIterator[ReplyChunk]:
        """The brain's streamed reply, or ``text`` itself for scripted lines (the greeting)."""
        if scripted:
            emotion = await asyncio.to_thread(self.services.pipeline.emotion.classify, text)
            yield ReplyChunk(text, normalize_for_speech(text), 0, emotion.label, emotion.confidence)
            return
        async for chunk in self.services.brain.reply(self.persona_id, self.session_id, text, timer,
                                                     continues=continues, opener=self._openers):
            yield chunk

    async def _run_turn(self, turn: int, text: str, timer: StageTimer, scripted: bool = False,
                        continues: bool = False) -> None:
        reason, sent = "done", []
        if not scripted:
            self._think(True)
        try:
            async for chunk in self._replies(text, timer, scripted, continues):
                await self.emit(*to_wire(ReplyEvent(turn=turn, index=chunk.index, text=chunk.text,
                                                    emotion=chunk.emotion)))
                for audio in await self._speech(chunk.speech, timer):  # each clip says which reply chunk it is
                    sent.append(self.stream.speak(dataclasses.replace(
                        audio, index=chunk.index, emotion=chunk.emotion, emotion_confidence=chunk.emotion_confidence), turn))
            await asyncio.gather(*sent)  # the turn ends when its last segment has been sent
        except asyncio.CancelledError:
            reason = "interrupted"
            raise
        except AvatarError as exc:
            reason = "error"
            await self.emit(*to_wire(ErrorEvent.of(exc)))
        except Exception as exc:  # a turn must never take the connection down
            log.exception("turn failed")
            reason = "error"
            await self.emit(*to_wire(ErrorEvent(code="internal_error", message="Ошибка при ответе.", detail=repr(exc))))
        finally:
            if turn == self.turn:
                self._think(False)
            if reason != "interrupted":
                await self.emit(*to_wire(TurnEndEvent(turn=turn, reason=reason, timings=timer.as_dict())))
            if reason == "done" and not scripted:
                self._warm_idle()

    @property
    def _openers(self) -> bool:
        """Whether replies start with a spoken opener (``realtime.opener``)."""
        return self.services.settings.realtime.opener

    def _think(self, on: bool) -> None:
        """The user waits for the reply (a thinking look; the stream may spend less on idle video)."""
        if self.stream is not None:
            self.stream.think(on)

    def _attend(self, on: bool) -> None:
        """The user is speaking (an attentive, listening look)."""
        if self.stream is not None:
            self.stream.listen(on)

    def _anticipate(self, heard: str | None, whole: bool = False) -> None:
        """Evaluate the coming turn's prompt on the words heard so far (None: stop doing so); one at a
        time, the newest partial transcript replacing the one before. ``whole``: a speculative
        transcript, the question as it stands if the turn ends now (the reply is begun on it)."""
        if self.anticipate_task is not None and not self.anticipate_task.done():
            self.anticipate_task.cancel()
        self.anticipate_task, self._drafting = None, False
        if heard and heard.strip() and not self.closed and self.services.settings.realtime.anticipate:
            self._drafting = whole
            self.anticipate_task = asyncio.create_task(
                self.services.brain.anticipate(self.persona_id, self.session_id, heard, whole, self._openers))
            self.anticipate_task.add_done_callback(_log_failure)

    def _warm_idle(self) -> None:
        """The session's next prompt goes into the LLM cache in the background (a fold into the summary
        rewrote it); the next turn preempts it. One at a time, cancelled with the session."""
        if not self.closed and (self.warm_task is None or self.warm_task.done()):
            self.warm_task = asyncio.create_task(self.services.brain.warm_idle(self.persona_id, self.session_id))

    async def _speech(self, text: str, timer: StageTimer) -> list[AudioChunk]:
        """TTS for one reply chunk, from the clip cache when this voice said it before."""
        s = self.services
        tts = self.tts()
        key = s.cache.key(voice=tts.describe(), voice_settings=s.settings.tts.model_dump(),
                          speaker=self.voice.key if self.voice else None, text=text) if s.cache else None
        if key and (hit := await s.cache.get(key)) is not None:
            timer.mark("cache_hit")
            return [unpack_audio_chunk(hit)]
        chunks = [c async for c in VoicedTTS(tts, self.voice).stream(text, timer)]
        if key and chunks:
            whole = AudioChunk(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, text,
                               _joined_phonemes(chunks))
            await s.cache.put(key, pack_audio_chunk(whole))
            return [whole]
        return chunks

    async def _send_segment(self, item: Emitted) -> None:
        if item.kind == "speech":
            await self.first_segment(item.turn, item.queued_s)
        await self.emit(*to_wire(media_event(item)))


    async def first_segment(self, turn: int, queued_s: float) -> None:
        """The first speech segment of ``turn`` is on its way: report the turn's timings so far."""
        if turn == self.turn:
            self._think(False)
        timer = self._timers.get(turn)
        if timer is not None and "first_segment" not in timer.milestones:
            timer.mark("first_segment")
            await self.emit(*to_wire(TimingsEvent(turn=turn, **timer.as_dict(),
                                                  queued_before_first_segment_s=round(queued_s, 3))))


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("anticipating the prompt failed: %r", task.exception())


def _joined_phonemes(chunks: list[AudioChunk]) -> tuple[PhonemeMark, ...]:
    marks, offset = [], 0.0
    for c in chunks:
        marks += [PhonemeMark(p.phoneme, p.start + offset, p.end + offset) for p in c.phonemes]
        offset += c.duration
    return tuple(marks)


def _enrolled(store: VoiceStore, voice_id: str) -> tuple[Voice, str | None]:
    """An enrolled voice and the standard voice its preparation found closest (file reads: a thread)."""
    voice = store.get(voice_id)
    return voice, voice.base_voice()


def _persona_voices(db: Any, persona_id: int) -> tuple[str | None, str | None, str]:
    """The persona's enrolled voice id, standard voice and gender."""
    persona = get_persona(db, persona_id)
    return persona.voice_id, persona.tts_voice, persona.gender
