"""One typed runtime per process: settings, engines, stores, connections and live sessions.

``create_app`` keeps a :class:`Runtime` in ``app.state.runtime`` (the only thing there): routes get it
and its parts through :mod:`backend.deps`, the Socket.IO namespace and the rate limiter hold it, and the
app's lifespan is ``start()`` / ``close()``. The render worker and the CLI build one too, so every process
lays the web app's saved choices (``<data_dir>/ui_settings.json``) over its configuration the same way.

Settings live here: ``base`` is the configuration (YAML/env), ``settings`` the effective settings (base
plus the saved choices). ``switch`` is their only writer: it builds the stages that changed next to the
running engines, swaps them in (the LLM between turns), keeps the Pipeline's and the Brain's copies in
step and publishes the choices in Redis. A render worker reads them at each stream's start (``follow``)
and rebuilds its talking head first, so server and workers agree on the stream's size and format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import redis
import redis.asyncio as aioredis

from ai_pipeline import workers
from ai_pipeline.asr.turn import SmartTurn
from ai_pipeline.asr.vad import SileroVAD
from ai_pipeline.errors import AvatarError
from ai_pipeline.runner import STAGE_ENGINES, STAGES, Pipeline, Progress
from ai_pipeline.settings import Settings
from ai_pipeline.voice.enroll import Enroller
from ai_pipeline.voice.store import VoiceStore
from backend.conversation import Brain
from backend.db import Database, init_db
from backend.db.personas import list_personas
from backend.db.seed import seed_default_persona
from backend.jobs import JobStore
from backend.realtime.cache import ClipCache
from backend.realtime.ratelimit import LocalRateLimiter, RateLimiter
from backend.realtime.redis_link import connect_redis
from backend.ui_settings import Choices, apply_choices, load_choices, save_choices, validate_choices
from backend.warmup import PersonaWarmups

if TYPE_CHECKING:
    from arq.connections import ArqRedis

    from backend.realtime.live import LiveSession

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVER_STAGES = (*STAGES, "enhance")  # everything a server loads
RENDER_STAGES = ("talking_head", "enhance")  # what a render worker loads
CHOICES_KEY = "avatar:settings:choices"  # the choices the server's settings are made from, for render workers


class Busy(AvatarError):
    """Every conversation slot is taken: the client is told when to try again."""

    code = "busy"
    http_status = 503
    retryable = True

    def __init__(self, limit: int, retry_after_s: float) -> None:
        super().__init__(f"Сервер занят: идёт столько разговоров, сколько он успевает вести в реальном времени "
                         f"({limit}). Попробуйте снова через {retry_after_s:.0f} с.",
                         f"all {limit} conversation slots are taken", code="busy")
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retry_after_s": self.retry_after_s}


def changed_stages(old: Settings, new: Settings) -> list[str]:
    """The switchable stages whose settings differ."""
    return [stage for stage in STAGE_ENGINES if getattr(new, stage) != getattr(old, stage)]


async def published_choices(client: aioredis.Redis) -> Choices | None:
    """The choices a server published (None: none, unreadable, or Redis does not answer)."""
    try:
        raw = await client.get(CHOICES_KEY)
    except (redis.RedisError, OSError) as exc:
        log.warning("published settings not read (Redis: %s)", exc)
        return None
    if raw is None:
        return None
    try:
        return Choices.model_validate_json(raw)
    except ValueError as exc:
        log.warning("ignoring published settings: %s", exc)
        return None


def _swap_order(stage: str) -> int:
    """The enhancer and then the talking head are swapped last: the stream's format (the head's size and
    rate) changes right before the choices are published to the render workers."""
    return RENDER_STAGES[::-1].index(stage) + 1 if stage in RENDER_STAGES else 0


def _started(part: T | None, name: str) -> T:
    if part is None:
        raise RuntimeError(f"Runtime.{name} is made by Runtime.start(), which has not run")
    return part


def _log_progress(fraction: float, message: str) -> None:
    log.info("loading %3.0f%% %s", fraction * 100, message)


class Runtime:
    """Settings, engines (through the Pipeline), brain, database, stores, Redis, live sessions, tasks.

    Constructing one is cheap (settings are read, nothing loads); ``start`` is the server's start-up,
    ``load`` alone is enough for a process that only renders (the worker, the CLI).
    """

    def __init__(self, base: Settings | None = None, *, pipeline: Pipeline | None = None) -> None:
        self.base = base or Settings()  # the configuration: what the choices are laid over
        self.choices = load_choices(self.base)  # the web app's saved choices, as applied
        self.settings = apply_choices(self.base, self.choices)  # effective; only ``switch`` changes it
        self.pipeline = pipeline or Pipeline(self.settings)
        self.stages: tuple[str, ...] = ()  # loaded into the pipeline (by ``load``)
        self.vad: SileroVAD | None = None
        self.turn: SmartTurn | None = None  # the end-of-turn model (None: a pause ends a phrase)
        self.redis: aioredis.Redis | None = None
        self.queue: ArqRedis | None = None  # an arq pool when realtime.executor is "queue"
        self.cache: ClipCache | None = None
        self.limiter: RateLimiter | LocalRateLimiter | None = None  # None until started: nothing is refused
        self.notices: list[str] = []  # about connections (Redis); the engines' own are the pipeline's
        self.live: dict[str, LiveSession] = {}  # connected clients, by sid
        self.lock = asyncio.Lock()  # one settings switch at a time
        self.reloading: dict[str, float] = {}  # stage -> progress, while a switch rebuilds it
        self.background: set[asyncio.Task[Any]] = set()  # owned tasks (switches, warm-up), cancelled by close
        self._db: Database | None = None
        self._brain: Brain | None = None
        self._jobs: JobStore | None = None
        self.warmups = PersonaWarmups(lambda: self.brain)  # personas' prompt states, made in the background
        self._enroller: Enroller | None = None
        self._swept: Path | None = None

    # -- parts made by start() (a test or a tool may set one instead) -------------------------

    @property
    def db(self) -> Database:
        return _started(self._db, "db")

    @db.setter
    def db(self, db: Database) -> None:
        self._db = db

    @property
    def brain(self) -> Brain:
        return _started(self._brain, "brain")

    @brain.setter
    def brain(self, brain: Brain) -> None:
        self._brain = brain

    @property
    def jobs(self) -> JobStore:
        return _started(self._jobs, "jobs")

    @jobs.setter
    def jobs(self, jobs: JobStore) -> None:
        self._jobs = jobs

    # -- lifecycle ----------------------------------------------------------------------------

    async def load(self, stages: tuple[str, ...], progress: Progress | None = None) -> None:
        """Load the engines of ``stages`` (blocking work in a thread)."""
        await asyncio.to_thread(self.pipeline.load, progress, stages)
        self.stages = tuple(dict.fromkeys((*self.stages, *stages)))

    async def start(self) -> None:
        """The server's start-up: database, every engine, brain, VAD, Redis (cache, limits, queue), jobs."""
        self._db = await asyncio.to_thread(init_db, self.settings.db_url)
        await self._db.call(seed_default_persona)
        await self.load(SERVER_STAGES, _log_progress)
        assert self.pipeline.llm is not None and self.pipeline.emotion is not None
        self._brain = Brain(self._db, self.pipeline.llm, self.pipeline.emotion, self.settings)
        self.vad = await asyncio.to_thread(SileroVAD)
        self.turn = await asyncio.to_thread(self._turn_detector)
        await connect_redis(self)
        self.pipeline.notices.extend(self.notices)
        await self.publish_choices()
        # every persona's prompt state is made (or found stored) in the background, the first persona first
        for persona_id in await self._db.call(lambda db: [p.id for p in list_personas(db)]):
            self.warmups.request(persona_id, first=False)
        self.warmups.start(self.spawn)
        self._jobs = JobStore(self.settings.data_dir / "renders")

    def _turn_detector(self) -> SmartTurn | None:
        """Smart Turn when the settings ask for it; unavailable, the silence rule stands in and says so."""
        if self.settings.vad.end_of_turn != "smart_turn":
            return None
        try:
            return SmartTurn()
        except AvatarError as exc:
            log.warning("Smart Turn unavailable, a pause of %d ms ends a phrase: %s",
                        self.settings.vad.hangover_ms, exc.message_en)
            self.notices.append(f"Конец фразы определяется по паузе: {exc.message_ru}")
            return None

    async def close(self) -> None:
        """Undo whatever ``start``/``load`` did (safe after a partial start). Queued renders are dropped:
        the worker pools are not waited for."""
        tasks = list(self.background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(live.close() for live in list(self.live.values())), return_exceptions=True)
        if self._jobs is not None:
            await self._jobs.aclose()
        if self.queue is not None:
            await self.queue.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        self.pipeline.close()
        if self._db is not None:
            self._db.close()
        workers.shutdown()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` as a task this runtime owns (cancelled by ``close``; a failure is logged)."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # -- settings -----------------------------------------------------------------------------

    def choose(self, body: Choices) -> None:
        """A change from the web app: validated, merged into the saved choices and saved; the stages it
        changes are rebuilt in the background (``reloading`` shows them until each is swapped in)."""
        validate_choices(body, apply_choices(self.base, load_choices(self.base)))
        saved = load_choices(self.base)
        options = {stage: {**saved.options.get(stage, {}), **body.options.get(stage, {})}
                   for stage in {*saved.options, *body.options}}
        merged = Choices(engines={**saved.engines, **body.engines}, quality=body.quality or saved.quality,
                         options=options)
        new = apply_choices(self.base, merged)
        save_choices(self.base, merged)
        changed = changed_stages(self.settings, new)
        if changed or new != self.settings:
            self.reloading.update(dict.fromkeys(changed, 0.0))
            self.spawn(self.switch(new, changed, choices=merged))

    async def switch(self, new: Settings, stages: Iterable[str], *, choices: Choices | None = None) -> Settings:
        """Rebuild ``stages`` from ``new`` next to the running engines and swap them in; afterwards ``new``
        is the effective settings everywhere. A stage that cannot be built keeps its engine and settings
        (and says so in the notices). ``choices``, what ``new`` was made from, are then published for the
        render workers. Returns the settings applied."""
        async with self.lock:
            return await self._switch(new, list(stages), choices, publish=True)

    async def _switch(self, new: Settings, stages: list[str], choices: Choices | None, *, publish: bool) -> Settings:
        pipeline, replaced = self.pipeline, []
        try:
            for stage in sorted(stages, key=_swap_order):
                try:
                    if stage in self.stages:  # a stage this process does not run only changes its settings
                        candidate = pipeline.settings.model_copy(update={stage: getattr(new, stage)})
                        built = await asyncio.to_thread(pipeline.build_stage, stage, candidate)
                        async with self._idle(stage):
                            replaced += pipeline.swap(built)
                            self._share_engines()
                except (AvatarError, OSError, ValueError, RuntimeError) as exc:
                    log.warning("switching %s failed: %s", stage, exc)
                    pipeline.notices.append(f"Не удалось переключить этап «{stage}»: {exc}")
                    new = new.model_copy(update={stage: getattr(self.settings, stage)})
                finally:
                    if stage in self.reloading:
                        self.reloading[stage] = 1.0
            self.settings = pipeline.settings = new
            if self._brain is not None:
                self._brain.settings = new
            if choices is not None:
                self.choices = choices
                if publish:  # right after the head's swap: render workers follow from their next stream
                    await self.publish_choices()
        finally:
            for stage in stages:  # the settings page shows the switch until it is live and published
                self.reloading.pop(stage, None)
            for engine in replaced:
                await asyncio.to_thread(engine.close)
        return new

    @contextlib.asynccontextmanager
    async def _idle(self, stage: str) -> AsyncIterator[None]:
        """The LLM and the emotion tagger change between turns (the brain holds them during a reply)."""
        if self._brain is not None and stage in ("llm", "emotion"):
            async with self._brain.llm_exclusive():
                yield
        else:
            yield

    def _share_engines(self) -> None:
        if self._brain is not None:
            assert self.pipeline.llm is not None and self.pipeline.emotion is not None
            self._brain.llm, self._brain.emotion = self.pipeline.llm, self.pipeline.emotion

    async def publish_choices(self) -> None:
        """Tell the render workers which choices this server's settings are made from."""
        if self.redis is None:
            return
        try:
            await self.redis.set(CHOICES_KEY, self.choices.model_dump_json())
        except (redis.RedisError, OSError) as exc:
            log.warning("settings not published (Redis: %s)", exc)

    async def follow(self, client: aioredis.Redis | None) -> bool:
        """Catch up with the choices a server published (else the saved ones): the loaded stages they
        change are rebuilt first. A render worker calls this before each stream; True if anything changed."""
        choices = await published_choices(client) if client is not None else None
        if choices is None:
            choices = load_choices(self.base)
        async with self.lock:
            if choices == self.choices:
                return False
            new = apply_choices(self.base, choices)
            log.info("settings changed: %s", choices.model_dump_json())
            await self._switch(new, changed_stages(self.settings, new), choices, publish=False)
            return True

    # -- stores -------------------------------------------------------------------------------

    def voices(self) -> VoiceStore:
        """A voice store on the current settings; the analyser (its VAD model) is shared. The first use
        in a process sweeps what a crashed process left in the store (blocking)."""
        if self._enroller is None:
            self._enroller = Enroller(self.vad)
        store = VoiceStore(self.settings.voices_dir, limits=self.settings.limits, enroller=self._enroller)
        if self._swept != self.settings.voices_dir:
            self._swept = self.settings.voices_dir
            store.sweep()
        return store

    # -- conversations ------------------------------------------------------------------------

    def client_key(self, session: LiveSession) -> str:
        return session.client

    def active_sessions(self) -> int:
        return sum(1 for session in self.live.values() if session.active)

    def admit(self, session: LiveSession) -> None:
        """Refuse a new conversation when ``realtime.max_sessions`` are already running."""
        limit = self.settings.realtime.max_sessions
        if not session.active and self.active_sessions() >= limit:
            raise Busy(limit, self.settings.realtime.busy_retry_s)
