"""One conversation turn: memory in, a streamed in-character reply out, memory updated.

``Brain.reply`` stores the user's message, learns facts from it, builds the prompt (persona, rolling
summary, facts, recent turns within the token budget), streams the LLM's tokens through the reply
chunker and tags every speakable chunk with an emotion. The reply so far is stored before each chunk
is handed on, so whatever was said survives a barge-in, a crash or a restart at any moment; older turns
are folded into the rolling summary in idle time, when the unfolded turns pass a token budget, with a
summary the LLM writes then (``warm_idle``). A fold rewrites the prompt after the persona's part, so it
is stored only once its prompt is evaluated: a due fold that waited too long for idle time is fixed at
a turn's end (the first sentences of each turn where the LLM's summary is not written) and the next
idle time goes to evaluating it; only a prompt that would outgrow its budget stores it unevaluated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ai_pipeline.chunks import ChatMessage, ReplyChunk
from ai_pipeline.emotion.base import EmotionEngine
from ai_pipeline.llm.base import LLMEngine, PrefillResult, Progress
from ai_pipeline.llm.facts import extract_facts
from ai_pipeline.llm.prompt import (MEMORY_SHARE, MESSAGE_OVERHEAD, PersonaCard, build_messages, memory_prompt,
                                    persona_prompt)
from ai_pipeline.llm.summary import (ROLLING_MAX_CHARS, SUMMARY_TOKENS, SummaryRequest, accept_summary, append_summary,
                                     summary_request)
from ai_pipeline.settings import Settings
from ai_pipeline.text.chunker import ReplyChunker, speech_for
from ai_pipeline.text.guard import ReplyGuard
from ai_pipeline.text.openers import choose_opener, without_opener
from ai_pipeline.timing import StageTimer
from backend.db import Database
from backend.db.conversations import (add_message, continue_user_message, get_session, recent_messages, save_reply,
                                      start_session, to_chat)
from backend.db.memory import get_facts, get_summary, list_facts, remember_facts, set_summary
from backend.db.models import Message
from backend.db.personas import get_persona, persona_card

log = logging.getLogger(__name__)

SUMMARY_CHARS = 900  # the rolling summary keeps its newest part
FOLD_SLACK = 8  # messages a due fold may wait for idle time (its summary and its prompt) before it is overdue
OVERDUE_SLACK = 16  # messages past its trigger an overdue fold may still wait for its prompt to be evaluated
QUESTION_TOKENS = 128  # room a fold that waits for its evaluation leaves in the prompt's budget for the next question
IDLE_BEFORE_BACKGROUND_S = 1.5  # background prefills start only after the LLM was idle this long
MAX_SESSIONS_REMEMBERED = 256  # sessions whose last opener is remembered (so it is not repeated)
REPLIES_NOT_REPEATED = 3  # a sentence of the persona's last this many replies is not said again
DRAFT_TOKENS = 24  # reply tokens sampled ahead on a speculative transcript (about one clause)


@dataclass(frozen=True)
class Fold:
    """A rolling summary that takes in the messages up to ``up_to_message_id``, not yet stored
    (``written``: by the LLM, else the first sentences of each message)."""

    text: str
    up_to_message_id: int
    written: bool = False


@dataclass
class _Writing:
    """The LLM's summary for one planned fold: what it wrote so far (kept when a turn interrupts it),
    and once done the text that passed the checks (None: it failed, the first sentences serve)."""

    up_to_message_id: int
    partial: str = ""
    done: bool = False
    text: str | None = None


@dataclass
class BackgroundWork:
    """What ``warm_idle`` is evaluating now: ``"prompt"`` (the prompt as it stands), ``"summary"`` (the
    LLM's summary of a fold) or ``"fold"`` (the prompt after a fold), and the share of it evaluated."""

    kind: str
    done: float = 0.0

    def progress(self, fraction: float) -> None:
        self.done = fraction


@dataclass(frozen=True)
class TurnPrompt:
    """Everything the LLM gets for one turn (built inside one database call)."""

    messages: list[ChatMessage]
    user_message_id: int
    female: bool = True  # the persona speaks of herself in the feminine
    rules: str = ""  # the prompt's rules (after the persona's own paragraph): a reply must not recite them


def _first_sentence(text: str, limit: int = 140) -> str:
    head = text.strip().split("\n")[0]
    for mark in (". ", "! ", "? "):
        if mark in head:
            head = head.split(mark)[0] + mark.strip()
            break
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _extractive(previous: str, old: list[Message]) -> str:
    """The previous summary and the first sentence of each of ``old``, its newest ``SUMMARY_CHARS``."""
    lines = [f"{'Собеседник' if m.role == 'user' else 'Ты'}: {_first_sentence(m.text)}" for m in old]
    text = "\n".join(filter(None, [previous, *lines]))
    if len(text) > SUMMARY_CHARS:
        text = "…" + text[-SUMMARY_CHARS:].split("\n", 1)[-1]
    return text


class Brain:
    """Persona + memory + LLM + chunker + emotion for one process (engines shared by all sessions)."""

    def __init__(self, db: Database, llm: LLMEngine, emotion: EmotionEngine, settings: Settings) -> None:
        self.db = db
        self.llm = llm
        self.emotion = emotion
        self.settings = settings
        self._llm_lock = asyncio.Lock()  # one generation at a time: the CPU is the bottleneck anyway
        self._background_stop: threading.Event | None = None  # set to make a background prefill give way
        self.background: BackgroundWork | None = None  # what warm_idle evaluates now, for logs and tests
        self._last_use = 0.0  # monotonic time a conversation last wanted the LLM
        self._openers: dict[int, str | None] = {}  # session -> the opener its last reply began with (newest last)
        self._writing: dict[int, _Writing] = {}  # session -> the LLM's summary of its planned fold
        self._overdue: dict[int, Fold] = {}  # session -> its overdue fold, stored once its prompt is evaluated

    @contextmanager
    def _background(self, kind: str) -> Iterator[tuple[threading.Event, BackgroundWork]]:
        """Idle-time work on the LLM (the lock is held): the event a turn sets to make it give way, and
        what it is (``self.background`` meanwhile)."""
        stop, work = threading.Event(), BackgroundWork(kind)
        self._background_stop, self.background = stop, work
        try:
            yield stop, work
        finally:
            self._background_stop, self.background = None, None

    @asynccontextmanager
    async def llm_exclusive(self) -> AsyncIterator[None]:
        """Hold the LLM: no generation or prefill runs until the block ends (e.g. to swap engines between turns)."""
        async with self._llm_lock:
            yield

    async def open_session(self, persona_id: int, session_id: int | None = None) -> int:
        """The session to talk in: ``session_id`` if it belongs to the persona, else a new one."""
        def pick(db: Session) -> int:
            get_persona(db, persona_id)
            if session_id is not None:
                existing = get_session(db, session_id)
                if existing.persona_id == persona_id:
                    return existing.id
            return start_session(db, persona_id).id

        return await self.db.call(pick)

    async def greeting(self, persona_id: int) -> str:
        def read(db: Session) -> str:
            persona = get_persona(db, persona_id)
            return persona.greeting or f"Привет! Меня зовут {persona.name}."

        return await self.db.call(read)

    def _messages(self, db: Session, persona_id: int, session_id: int, user_text: str,
                  fold: Fold | None = None) -> list[ChatMessage]:
        """The turn's prompt, laid out so the LLM's cached prefix survives from turn to turn.

        The history is every message since the summary's last fold (those kept verbatim right after a
        fold, growing until the next fold is due, see ``_fold_plan``): it only grows until the next fold
        instead of sliding by one message each turn. Facts learnt from those very messages stay out of
        the system prompt until they are folded (the messages are in the prompt verbatim), so a new fact does not
        rewrite the system prompt and force the whole history to be evaluated again.

        ``fold``: the prompt as it will be once that fold is stored (evaluated before it is)."""
        persona, summary, pending, facts = self._memory(db, persona_id, session_id, fold)
        history = [ChatMessage(m.role, without_opener(m.content)) if m.role == "assistant" else m
                   for m in to_chat(pending)]
        return build_messages(persona, user_text=user_text, history=history,
                              summary=summary.text if summary else None, facts=facts,
                              budget_tokens=self.settings.memory.context_tokens, count_tokens=self.llm.count_tokens)

    def _memory(self, db: Session, persona_id: int, session_id: int, fold: Fold | None = None
                ) -> tuple[PersonaCard, Fold | None, list[Message], dict[str, str]]:
        """What the prompt is made of (see ``_messages``): the persona, the summary (``fold`` or the stored
        one), the messages after it and the facts the system prompt shows."""
        memory = self.settings.memory
        persona = persona_card(get_persona(db, persona_id))
        stored = get_summary(db, persona_id, session_id=session_id)
        summary = fold or (Fold(stored.text, stored.up_to_message_id) if stored else None)
        after = summary.up_to_message_id if summary else None
        pending = recent_messages(db, session_id, limit=memory.summarize_after + OVERDUE_SLACK + 4, after_id=after)
        verbatim = {m.id for m in pending}
        facts = {f.key: f.value for f in list_facts(db, persona_id) if f.source_message_id not in verbatim}
        return persona, summary, pending, facts

    def _prompt(self, db: Session, persona_id: int, session_id: int, user_text: str,
                continues: bool = False) -> TurnPrompt:
        message = (continue_user_message(db, session_id, user_text) if continues else None) \
            or add_message(db, session_id, "user", user_text)
        remember_facts(db, persona_id, extract_facts(message.text), source_message_id=message.id,
                       max_facts=self.settings.memory.max_facts)
        messages = self._messages(db, persona_id, session_id, message.text)
        card = persona_card(get_persona(db, persona_id))
        notes = [m.content for m in messages[1:] if m.role == "system"]  # the notes after the history
        rules = "\n".join([persona_prompt(card).split("\n\n", 1)[-1], *notes])
        return TurnPrompt(messages, message.id, female=card.gender != "male", rules=rules)

    def _persona_messages(self, db: Session, persona_id: int) -> list[ChatMessage]:
        """The persona's prompt as a new conversation starts it (character and facts, no history)."""
        persona = persona_card(get_persona(db, persona_id))
        return build_messages(persona, user_text="", history=[], summary=None, facts=get_facts(db, persona_id),
                              budget_tokens=self.settings.memory.context_tokens,
                              count_tokens=self.llm.count_tokens)[:-1]

    async def prepare_persona(self, persona_id: int, progress: Progress | None = None) -> PrefillResult | None:
        """Evaluate the persona's prompt and store the state, so its first conversation starts warm
        (in the background: see ``_background_prefill``)."""
        messages = await self.db.call(self._persona_messages, persona_id)
        return await self._background_prefill(messages, progress, store=True)

    async def warm_idle(self, persona_id: int, session_id: int) -> PrefillResult | None:
        """After a turn: evaluate the session's next prompt while the user listens or thinks (in the
        background). A fold into the summary that is due is written and evaluated here first and stored
        only once its prompt is ready, so no question pays for it: until then the turns keep the old
        layout (its state is kept on disk while the fold's is evaluated, and the fold's progress is kept
        when a turn interrupts it). The LLM writes the fold's summary first (``_write_summary``; a turn
        interrupts it too, and it goes on from what it wrote). A fold that waited too long for that is
        overdue (fixed at a turn's end, see ``_fold_overdue``): its prompt is evaluated straight away.
        Before working on a fold, the prompt as it stands is brought up to date (the last reply is shown
        without its opener, so the cache holds it otherwise), so the next question pays only for its words."""
        current: list[ChatMessage] | None = None  # the prompt as it stands, evaluated by this call
        while True:
            await self._idle()
            overdue = await self.db.call(self._overdue_fold, persona_id, session_id)
            fold = overdue or await self.db.call(self._fold_plan, persona_id, session_id)
            if fold is not None:
                now = (await self.db.call(self._messages, persona_id, session_id, ""))[:-1]
                if now != current:
                    async with self._llm_lock:
                        if time.monotonic() - self._last_use < IDLE_BEFORE_BACKGROUND_S:
                            continue
                        with self._background("prompt") as (stop, work):
                            await self._prefill(now, stop, work.progress)
                    if stop.is_set():
                        continue
                    current = now
            if overdue is None and fold is not None and not fold.written \
                    and await self._write_summary(persona_id, session_id, fold) is not None:
                continue  # written (plan again with its text) or interrupted (go on when idle again)
            messages = await self.db.call(self._messages, persona_id, session_id, "", fold)
            async with self._llm_lock:
                if time.monotonic() - self._last_use < IDLE_BEFORE_BACKGROUND_S:
                    continue
                with self._background("prompt" if fold is None else "fold") as (stop, work):
                    result = await self._prefill(messages[:-1], stop, work.progress, keep=fold is not None)
            if stop.is_set():
                continue
            if fold is not None:
                await self.db.call(self._store_fold, persona_id, session_id, fold)
                if self._overdue.get(session_id) is fold:
                    del self._overdue[session_id]
            return result

    async def _write_summary(self, persona_id: int, session_id: int, fold: Fold) -> bool | None:
        """Have the LLM write the summary of ``fold`` (idle time only; a turn that wants the LLM stops it
        within one prompt slice or one token, and the next call goes on from what was evaluated and
        written). True when it is done now (whether its text passed the checks or not), False when it was
        interrupted, None when there is nothing to write (no LLM summaries, or it was written already)."""
        if not self.settings.memory.llm_summary:
            return None
        writing = self._writing.get(session_id)
        if writing is None or writing.up_to_message_id != fold.up_to_message_id:
            writing = self._writing[session_id] = _Writing(fold.up_to_message_id)
            while len(self._writing) > MAX_SESSIONS_REMEMBERED:
                self._writing.pop(next(iter(self._writing)))
        if writing.done:
            return None
        request = await self.db.call(self._summary_request, persona_id, session_id, fold)
        messages = request.messages
        if not request.opening:  # the engine cannot go on from a begun reply: start over
            writing.partial = ""
        elif writing.partial:  # go on from what was written before the interruption
            messages = [*messages[:-1], ChatMessage("assistant", request.opening + writing.partial)]
        async with self._llm_lock:
            if time.monotonic() - self._last_use < IDLE_BEFORE_BACKGROUND_S:
                return False
            with self._background("summary") as (stop, work):
                # keep: what was evaluated survives a turn's interruption (and the turn's prompt is kept too)
                await self._prefill(messages[:-1] if request.opening else messages, stop, work.progress, keep=True)
                if stop.is_set():
                    return False
                tokens = self.llm.stream(messages, max_tokens=max(8, SUMMARY_TOKENS - len(writing.partial) // 3))
                try:
                    async for token in tokens:
                        if stop.is_set():
                            return False
                        writing.partial += token.text
                finally:
                    await tokens.aclose()
        if stop.is_set():
            return False
        part = accept_summary(request.opening + writing.partial, request.source)
        if part is not None:
            writing.text = append_summary(request.previous, part, ROLLING_MAX_CHARS)
        else:
            log.info("the LLM's summary failed its checks, the first sentences serve: %r", writing.partial)
        writing.done = True
        return True

    def _summary_request(self, db: Session, persona_id: int, session_id: int, fold: Fold) -> SummaryRequest:
        """What the LLM is asked to sum up for ``fold``: the stored summary and the messages it folds."""
        card = persona_card(get_persona(db, persona_id))
        stored = get_summary(db, persona_id, session_id=session_id)
        after = stored.up_to_message_id if stored else None
        old = [m for m in recent_messages(db, session_id, limit=10_000, after_id=after)
               if m.id <= fold.up_to_message_id]
        facts = get_facts(db, persona_id)
        return summary_request(card.name, card.age, to_chat(old), previous=stored.text if stored else None,
                               user_name=facts.get("name"), user_age=facts.get("age"),
                               continues=self.llm.continues_reply, female=card.gender != "male")

    async def _idle(self) -> None:
        """Wait until no conversation has wanted the LLM for ``IDLE_BEFORE_BACKGROUND_S``."""
        while (idle := time.monotonic() - self._last_use) < IDLE_BEFORE_BACKGROUND_S:
            await asyncio.sleep(IDLE_BEFORE_BACKGROUND_S - idle)

    async def _background_prefill(self, messages: list[ChatMessage], progress: Progress | None = None,
                                  store: bool = False) -> PrefillResult | None:
        """A prefill that waits until conversations leave the LLM idle and gives way as soon as one wants
        it (a turn or a session's warm-up), then goes on from what the cache or the store kept."""
        while True:
            await self._idle()
            async with self._llm_lock:
                if time.monotonic() - self._last_use < IDLE_BEFORE_BACKGROUND_S:
                    continue  # someone used the LLM while this waited for the lock
                stop = self._background_stop = threading.Event()
                try:
                    result = await self._prefill(messages, stop, progress, store=store)
                finally:
                    self._background_stop = None
            if not stop.is_set():
                return result

    def _claim(self) -> None:
        """A conversation wants the LLM: background prefills give way (within one prompt slice)."""
        self._last_use = time.monotonic()
        if self._background_stop is not None:
            self._background_stop.set()

    async def warm(self, persona_id: int, session_id: int) -> PrefillResult | None:
        """Prefill the LLM with this session's persona + history (call when a session opens or goes idle);
        a stored state of the persona is loaded instead of evaluated where one fits."""
        messages = await self.db.call(self._messages, persona_id, session_id, "")
        self._claim()
        try:
            async with self._llm_lock:
                return await self._prefill(messages[:-1])
        finally:
            self._last_use = time.monotonic()

    def _opener(self, session_id: int, user_text: str, wanted: bool) -> str | None:
        """The opener a reply to ``user_text`` starts with (see ai_pipeline.text.openers), if wanted
        and the LLM can continue a reply it did not start."""
        if not wanted or not self.llm.continues_reply:
            return None
        return choose_opener(user_text, self._openers.get(session_id))

    async def anticipate(self, persona_id: int, session_id: int, heard: str,
                         whole: bool = False, opener: bool = False) -> PrefillResult | None:
        """The user is still speaking, or their end of turn is being decided: evaluate the turn's
        prompt up to the words heard so far, so the reply pays only for the rest. ``whole``: ``heard``
        is the question as it will be if the silence now being judged ends the turn; the prompt is
        evaluated to its end and the reply's first tokens are sampled (``DRAFT_TOKENS`` at most) until
        the turn is decided. Background work gives way to it; it gives way to any turn within one
        prompt slice (or one sampled token)."""
        if not heard.strip():
            return None
        self._claim()
        messages = await self.db.call(self._messages, persona_id, session_id, heard)
        if whole and (opening := self._opener(session_id, heard, opener)):
            messages = [*messages, ChatMessage("assistant", opening)]
        async with self._llm_lock:
            stop = self._background_stop = threading.Event()
            try:
                if whole:
                    return await self._prefill(messages, stop, draft=DRAFT_TOKENS)
                return await self._prefill(messages, stop, open_end=True)
            finally:
                if self._background_stop is stop:
                    self._background_stop = None
                self._last_use = time.monotonic()

    async def _prefill(self, messages: list[ChatMessage], stop: threading.Event | None = None,
                       progress: Progress | None = None, store: bool = False,
                       open_end: bool = False, keep: bool = False, draft: int = 0) -> PrefillResult | None:
        """A prefill that stops soon after its task is cancelled (the thread is told, not abandoned)."""
        stop = stop or threading.Event()
        work = asyncio.ensure_future(asyncio.to_thread(self.llm.prefill, messages, stop, progress, store=store,
                                                       open_end=open_end, keep=keep, draft=draft))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()
            raise

    async def reply(self, persona_id: int, session_id: int, user_text: str,
                    timer: StageTimer | None = None, *, continues: bool = False,
                    opener: bool = False) -> AsyncIterator[ReplyChunk]:
        """Stream the persona's reply to ``user_text`` as speakable chunks with emotions. ``continues``:
        the text goes on the user's last message (whose reply was cut before it was heard), which is
        answered as a whole. ``opener``: a question's reply may start with a short opener, handed
        out at once, which the LLM then continues (see ai_pipeline.text.openers)."""
        timer = timer or StageTimer()
        self._claim()  # a background prefill gives way while the prompt is built
        with timer.measure("memory"):
            prompt = await self.db.call(self._prompt, persona_id, session_id, user_text, continues)
        chunker = ReplyChunker(self.settings.chunker)
        said: list[ReplyChunk] = []
        message_id: int | None = None  # the assistant message, once its first chunk is stored
        messages, first = prompt.messages, 0
        opening = self._opener(session_id, prompt.messages[-1].content, opener)
        # what may not be said is rewritten or dropped before TTS; the last replies are not said again
        guard = ReplyGuard(prompt.messages[-1].content, female=prompt.female, opener=opening or "",
                           instructions=prompt.rules,
                           said_before=tuple(m.content for m in prompt.messages if m.role == "assistant")[-REPLIES_NOT_REPEATED:])
        if opener:  # remembered so the next reply does not repeat it; bounded, the oldest sessions go
            self._openers.pop(session_id, None)
            while len(self._openers) >= MAX_SESSIONS_REMEMBERED:
                self._openers.pop(next(iter(self._openers)))
            self._openers[session_id] = opening
        if opening:
            messages, first = [*messages, ChatMessage("assistant", opening)], 1
            said.append(await self._tag(ReplyChunk(opening, speech_for(opening)), timer, milestone="opener"))
            message_id = await self._store(session_id, said, timer, message_id)
            yield said[-1]
        try:
            async with self._llm_lock:
                tokens = self.llm.stream(messages)
                lead = " " if opening else ""  # the opener's words and the model's are one sentence
                try:
                    async for token in tokens:
                        timer.mark("first_token")
                        text = token.text
                        if lead and text.strip():
                            text, lead = lead + text.lstrip(), ""
                        for chunk in guard.filter(chunker.push(text)):
                            said.append(await self._tag(dataclasses.replace(chunk, index=chunk.index + first), timer))
                            message_id = await self._store(session_id, said, timer, message_id)
                            yield said[-1]
                        if guard.stopped:  # code, or long enough for speech: nothing more is said
                            break
                finally:
                    await tokens.aclose()  # stops generation on barge-in
                    self._last_use = time.monotonic()
            for chunk in [*guard.filter(chunker.flush()), *guard.finish()]:
                said.append(await self._tag(dataclasses.replace(chunk, index=chunk.index + first), timer))
                message_id = await self._store(session_id, said, timer, message_id)
                yield said[-1]
        finally:
            if said:
                await asyncio.shield(self._remember(persona_id, session_id, said, timer, message_id))

    async def _tag(self, chunk: ReplyChunk, timer: StageTimer, milestone: str = "first_chunk") -> ReplyChunk:
        with timer.measure("emotion"):
            result = await asyncio.to_thread(self.emotion.classify, chunk.text)
        timer.mark(milestone)
        return ReplyChunk(chunk.text, chunk.speech, chunk.index, result.label, result.confidence)

    async def _store(self, session_id: int, said: list[ReplyChunk], timer: StageTimer,
                     message_id: int | None) -> int:
        """Store the reply so far before its newest chunk is handed on (a restart keeps what was said);
        returns the assistant message's id."""
        text = "".join(c.text for c in said).strip()
        emotion = Counter(c.emotion for c in said).most_common(1)[0][0]
        return await self.db.call(save_reply, session_id, message_id, text, emotion=emotion, timings=timer.as_dict())

    async def _remember(self, persona_id: int, session_id: int, said: list[ReplyChunk], timer: StageTimer,
                        message_id: int | None) -> None:
        await self._store(session_id, said, timer, message_id)  # the final timings
        await self.db.call(self._fold_overdue, persona_id, session_id)

    def _fold_overdue(self, db: Session, persona_id: int, session_id: int) -> Fold | None:
        """At a turn's end: a due fold that waited too long for idle time (``fold_slack_tokens`` or
        ``FOLD_SLACK`` messages past its trigger) is overdue. Its plan is fixed now (all but the newest
        messages, with the LLM's summary where it is written, else the first sentences of each message)
        and the next idle time evaluates its prompt, without waiting for the LLM's summary, then stores
        it (``warm_idle``): the turns until then keep the old prompt, which only grows and stays cached.
        A fold is stored here, unevaluated (the next turn evaluates the new prompt), only when the old
        prompt would no longer keep every unfolded message (``_over_budget``); it then takes in all but
        the newest messages as of now. Returns the overdue fold, if any."""
        fold = self._overdue_fold(db, persona_id, session_id) or self._fold_plan(db, persona_id, session_id,
                                                                                 forced=True)
        if fold is None:
            return None
        if self._over_budget(db, persona_id, session_id):  # all but the newest messages, as of now
            self._store_fold(db, persona_id, session_id,
                             self._fold_plan(db, persona_id, session_id, forced=True) or fold)
            self._overdue.pop(session_id, None)
            return None
        if self._overdue.get(session_id) is not fold:
            self._overdue.pop(session_id, None)  # newest last; bounded, the oldest sessions go
            while len(self._overdue) >= MAX_SESSIONS_REMEMBERED:
                self._overdue.pop(next(iter(self._overdue)))
            self._overdue[session_id] = fold
        return fold

    def _overdue_fold(self, db: Session, persona_id: int, session_id: int) -> Fold | None:
        """The session's overdue fold, unless the stored summary has moved past it (or there is none)."""
        fold = self._overdue.get(session_id)
        summary = get_summary(db, persona_id, session_id=session_id) if fold is not None else None
        if fold is not None and summary is not None and summary.up_to_message_id >= fold.up_to_message_id:
            self._overdue.pop(session_id, None)
            return None
        return fold

    def _over_budget(self, db: Session, persona_id: int, session_id: int) -> bool:
        """Whether the prompt without a new fold leaves less than ``QUESTION_TOKENS`` of its budget
        (``context_tokens``: summary, facts and every unfolded message with its chat markup), or holds
        more than ``summarize_after + OVERDUE_SLACK`` messages: the next turns would drop messages from
        its start, and so evaluate it again every turn."""
        memory = self.settings.memory
        _, summary, pending, facts = self._memory(db, persona_id, session_id)
        if len(pending) > memory.summarize_after + OVERDUE_SLACK:
            return True
        count = self.llm.count_tokens
        used = count(memory_prompt(summary.text if summary else None, facts, int(memory.context_tokens * MEMORY_SHARE),
                                   count))
        used += sum(count(m.text) + MESSAGE_OVERHEAD for m in pending)
        return used + QUESTION_TOKENS > memory.context_tokens

    def _fold_plan(self, db: Session, persona_id: int, session_id: int, forced: bool = False) -> Fold | None:
        """The fold into the rolling summary that is due (None when none is): when the unfolded messages
        pass ``fold_tokens`` (with their chat markup) or ``summarize_after`` messages, or with ``forced``
        those limits plus ``fold_slack_tokens`` / ``FOLD_SLACK``.

        The messages folded are those up to where the limits were first passed, but for the newest of
        them within ``keep_tokens`` (at most ``recent_turns``), which stay verbatim. The plan depends only
        on that prefix of the conversation, not on what came after it: it stays the same while the
        conversation goes on, so its summary and its evaluation, interrupted by turns, resume where they
        stopped. A forced fold takes in all but the newest messages (it is stored at once). Its text is
        the LLM's summary once written and accepted, else the previous summary plus the first sentence
        of each folded message (after the LLM's summary, for a forced fold that takes in more)."""
        memory = self.settings.memory
        summary = get_summary(db, persona_id, session_id=session_id)
        after = summary.up_to_message_id if summary else None
        pending = recent_messages(db, session_id, limit=10_000, after_id=after)
        sizes = [self.llm.count_tokens(m.text) + MESSAGE_OVERHEAD for m in pending]
        tokens_limit = memory.fold_tokens + (memory.fold_slack_tokens if forced else 0)
        count_limit = memory.summarize_after + (FOLD_SLACK if forced else 0)
        if sum(sizes) <= tokens_limit and len(pending) <= count_limit:
            return None
        end, total = 0, 0
        while end < len(pending) and (forced or (total <= memory.fold_tokens and end <= memory.summarize_after)):
            total, end = total + sizes[end], end + 1
        start, kept = end, 0
        while start > 1 and end - start < memory.recent_turns and kept + sizes[start - 1] <= memory.keep_tokens:
            start, kept = start - 1, kept + sizes[start - 1]
        old = pending[:start]
        writing = self._writing.get(session_id)
        if writing is not None and writing.text and any(m.id == writing.up_to_message_id for m in old):
            rest = [m for m in old if m.id > writing.up_to_message_id]  # a forced fold may take in more
            return Fold(_extractive(writing.text, rest), old[-1].id, written=not rest)
        return Fold(_extractive(summary.text if summary else "", old), old[-1].id)

    @staticmethod
    def _store_fold(db: Session, persona_id: int, session_id: int, fold: Fold) -> None:
        """Store ``fold`` unless the summary moved past it meanwhile (a forced fold)."""
        summary = get_summary(db, persona_id, session_id=session_id)
        if summary is None or summary.up_to_message_id < fold.up_to_message_id:
            set_summary(db, persona_id, fold.text, session_id=session_id, up_to_message_id=fold.up_to_message_id)


async def collect_reply(brain: Brain, persona_id: int, session_id: int, text: str,
                        opener: bool = False) -> tuple[list[ReplyChunk], dict]:
    """The whole reply at once, with its stage timings (tests and benchmarks)."""
    timer = StageTimer()
    chunks = [c async for c in brain.reply(persona_id, session_id, text, timer, opener=opener)]
    return chunks, timer.as_dict()
