"""``Runtime``: settings laid over the configuration once, switched in one place, followed by render workers."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from ai_pipeline.errors import InputError
from ai_pipeline.runner import StageEngines
from ai_pipeline.settings import RedisSettings, Settings
from backend.conversation import Brain
from backend.runtime import CHOICES_KEY, RENDER_STAGES, Runtime, published_choices
from backend.ui_settings import Choices, save_choices
from tests.redis_server import redis_url  # noqa: F401 - the fixture


class Stub:
    """An engine that records being closed."""

    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def _own_db(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/5"  # not the database the queue-mode server and workers share


def test_saved_choices_are_laid_over_the_configuration(tmp_path):
    base = Settings(data_dir=tmp_path)
    save_choices(base, Choices(engines={"tts": "espeak"}, quality="speed"))
    runtime = Runtime(base)
    assert runtime.base is base and base.tts.engine == "rhvoice"
    assert runtime.settings.tts.engine == "espeak" and runtime.settings.talking_head.size == 384
    assert runtime.pipeline.settings == runtime.settings
    assert runtime.choices == Choices(engines={"tts": "espeak"}, quality="speed")


def test_parts_made_by_start_say_so_before_it(tmp_path):
    runtime = Runtime(Settings(data_dir=tmp_path))
    for part in ("db", "brain", "jobs"):
        with pytest.raises(RuntimeError, match=f"Runtime.{part} is made by Runtime.start"):
            getattr(runtime, part)
    assert runtime.redis is None and runtime.queue is None and runtime.limiter is None


def test_the_app_keeps_nothing_but_the_runtime(tmp_path):
    from backend.app import create_app

    app = create_app(Settings(data_dir=tmp_path))
    assert set(app.state._state) == {"runtime"} and isinstance(app.state.runtime, Runtime)


def test_switch_rebuilds_a_loaded_stage_and_closes_the_old_engine(tmp_path):
    async def go():
        runtime = Runtime(Settings(data_dir=tmp_path))
        await runtime.load(RENDER_STAGES)
        old_head = runtime.pipeline.head
        closed = []
        old_head.close = lambda: closed.append(True)  # type: ignore[method-assign]
        fast = runtime.settings.model_copy(update={
            "talking_head": runtime.settings.talking_head.model_copy(update={"size": 384}),
            "tts": runtime.base.tts.model_copy(update={"timeout_s": 12.0})})
        applied = await runtime.switch(fast, ["talking_head", "tts"])  # tts is not loaded here: settings only
        try:
            assert applied == fast and runtime.settings == runtime.pipeline.settings == fast
            assert runtime.pipeline.head is not old_head and runtime.pipeline.head.size == 384 and closed
            assert runtime.pipeline.tts is None and not runtime.reloading
        finally:
            await runtime.close()

    asyncio.run(go())


def test_a_stage_that_fails_keeps_its_engine_and_says_so(tmp_path, monkeypatch):
    async def go():
        runtime = Runtime(Settings(data_dir=tmp_path))
        await runtime.load(RENDER_STAGES)
        head = runtime.pipeline.head

        def broken(stage, settings):  # type: ignore[no-untyped-def]
            raise InputError("Нет весов.", "no weights", code="engine_unavailable")

        monkeypatch.setattr(runtime.pipeline, "build_stage", broken)
        wanted = runtime.settings.model_copy(update={
            "talking_head": runtime.settings.talking_head.model_copy(update={"size": 384})})
        try:
            applied = await runtime.switch(wanted, ["talking_head"])
            assert runtime.pipeline.head is head and applied.talking_head.size == 512
            assert runtime.settings.talking_head.size == 512
            assert any("Не удалось переключить этап «talking_head»" in n for n in runtime.pipeline.notices)
        finally:
            await runtime.close()

    asyncio.run(go())


def test_the_llm_is_swapped_between_generations(tmp_path, monkeypatch):
    """A switch waits for the brain's LLM (a reply in progress), then the brain gets the new engine."""
    async def go():
        runtime = Runtime(Settings(data_dir=tmp_path))
        old, new = Stub("old"), Stub("new")
        runtime.pipeline.llm = old  # type: ignore[assignment]
        runtime.pipeline.emotion = Stub("emotion")  # type: ignore[assignment]
        runtime.stages = ("llm",)
        runtime.brain = Brain(None, old, runtime.pipeline.emotion, runtime.settings)  # type: ignore[arg-type]
        monkeypatch.setattr(runtime.pipeline, "build_stage",
                            lambda stage, settings: StageEngines(stage, settings, {"llm": new}))
        wanted = runtime.settings.model_copy(update={"llm": runtime.settings.llm.model_copy(update={"max_tokens": 7})})
        generating = asyncio.Event()
        finish = asyncio.Event()

        async def reply() -> None:
            async with runtime.brain.llm_exclusive():
                generating.set()
                await finish.wait()

        turn = asyncio.create_task(reply())
        await generating.wait()
        switch = asyncio.create_task(runtime.switch(wanted, ["llm"]))
        await asyncio.sleep(0.2)
        assert not switch.done() and runtime.brain.llm is old and runtime.pipeline.llm is old
        finish.set()
        await asyncio.gather(turn, switch)
        assert runtime.brain.llm is new and runtime.pipeline.llm is new and old.closed and not new.closed
        assert runtime.brain.settings.llm.max_tokens == 7 and runtime.settings.llm.max_tokens == 7

    asyncio.run(go())


def test_choose_validates_saves_and_switches_in_the_background(tmp_path):
    async def go():
        runtime = Runtime(Settings(data_dir=tmp_path))
        await runtime.load(RENDER_STAGES)
        try:
            with pytest.raises(InputError) as err:
                runtime.choose(Choices(engines={"talking_head": "nope"}))
            assert err.value.code == "bad_settings" and not runtime.background
            runtime.choose(Choices(quality="speed"))
            assert runtime.reloading == {"talking_head": 0.0} and len(runtime.background) == 1
            await asyncio.gather(*runtime.background)
            assert not runtime.reloading and runtime.pipeline.head.size == 384
            assert runtime.settings.encoder.preset == "ultrafast"
            assert json.loads((tmp_path / "ui_settings.json").read_text())["quality"] == "speed"
            assert runtime.choices == Choices(quality="speed")
        finally:
            await runtime.close()

    asyncio.run(go())


def test_a_render_worker_follows_the_published_choices(tmp_path, redis_url):  # noqa: F811
    """A switch on the server publishes its choices; a worker's runtime (talking head only) rebuilds its
    head at the next ``follow`` (the start of a stream), and not again while they stay the same."""
    url = _own_db(redis_url)

    async def go():
        client = aioredis.Redis.from_url(url)
        await client.delete(CHOICES_KEY)
        server = Runtime(Settings(data_dir=tmp_path / "server", redis=RedisSettings(url=url)))
        server.redis = client
        worker = Runtime(Settings(data_dir=tmp_path / "worker"))  # another machine: no shared file
        await worker.load(RENDER_STAGES)
        try:
            assert not await worker.follow(client)  # nothing published, nothing saved: nothing to do
            speed = Choices(quality="speed")
            await server.switch(server.settings.model_copy(update={"talking_head": server.settings.talking_head
                                                                   .model_copy(update={"size": 384})}),
                                [], choices=speed)
            assert await published_choices(client) == speed
            head = worker.pipeline.head
            assert await worker.follow(client)
            assert worker.pipeline.head is not head and worker.pipeline.head.size == 384
            assert worker.settings.encoder.preset == "ultrafast" and worker.choices == speed
            assert not await worker.follow(client)  # the same choices: the head stays
            await client.set(CHOICES_KEY, b"{broken")  # unreadable: the saved file (none) is used
            assert await worker.follow(client) and worker.pipeline.head.size == 512
        finally:
            await worker.close()
            await client.delete(CHOICES_KEY)
            await client.aclose()

    asyncio.run(go())


def test_without_redis_a_worker_reads_the_saved_file(tmp_path):
    async def go():
        worker = Runtime(Settings(data_dir=tmp_path))
        save_choices(worker.base, Choices(quality="speed"))  # the web app saved a choice meanwhile
        assert await worker.follow(None)
        assert worker.settings.talking_head.size == 384 and worker.pipeline.settings.talking_head.size == 384

    asyncio.run(go())
