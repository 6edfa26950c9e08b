"""Durable jobs: state in SQLite beside the results, atomic result files, restart and cleanup."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ai_pipeline.errors import InputError
from ai_pipeline.runner import RenderResult
from backend.jobs import JobStore

PUBLIC_KEYS = {"id", "status", "progress", "message", "created", "error", "timings", "warnings", "kind", "result"}


def render_result(payload: bytes) -> RenderResult:
    return RenderResult(mp4=payload, duration=1.0, frames=25, sample_rate=16000, avatar_id="a" * 16,
                        timings={"total_s": 0.5}, warnings=("осторожно",))


async def finish(store: JobStore, job_id: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if store.jobs[job_id].finished:
            await asyncio.sleep(0.05)  # the final save and the cleanup after it
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish: {store.jobs[job_id]}")


def test_finished_jobs_and_results_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict, dict, dict]:
        store = JobStore(tmp_path)

        async def render(progress) -> RenderResult:  # type: ignore[no-untyped-def]
            progress(0.5, "Половина")
            return render_result(b"video" * 1000)

        async def voice(progress) -> dict:  # type: ignore[no-untyped-def]
            return {"voice": {"id": "abc"}, "report": {"usable_s": 40.0}}

        async def failing(progress) -> dict:  # type: ignore[no-untyped-def]
            raise InputError("Плохой ввод.", "bad input", code="bad_input")

        jobs = [store.submit(render), store.submit(voice, kind="voice_enroll"), store.submit(failing, kind="voice")]
        for job in jobs:
            await finish(store, job.id)
        before = {job.id: job.public() for job in jobs}
        await store.aclose()

        again = JobStore(tmp_path)
        after = {job_id: again.get(job_id).public() for job_id in before}
        await again.aclose()
        return before, after, {job.id: job.kind for job in jobs}

    before, after, kinds = asyncio.run(scenario())
    assert after == before
    render_id = next(job_id for job_id, kind in kinds.items() if kind == "render")
    assert set(before[render_id]) == PUBLIC_KEYS | {"result_url"}
    assert before[render_id]["result_url"] == f"/api/jobs/{render_id}/result"
    assert (tmp_path / f"{render_id}.mp4").read_bytes() == b"video" * 1000
    statuses = sorted((after[job_id]["kind"], after[job_id]["status"]) for job_id in after)
    assert statuses == [("render", "done"), ("voice", "error"), ("voice_enroll", "done")]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_jobs_running_at_a_crash_become_errors(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict, dict]:
        crashed = JobStore(tmp_path)
        started = asyncio.Event()

        async def forever(progress) -> dict:  # type: ignore[no-untyped-def]
            started.set()
            await asyncio.Event().wait()
            return {}

        running = crashed.submit(forever)
        queued = crashed.submit(forever)
        await started.wait()
        await asyncio.sleep(0.1)  # the queued job's row is written too
        # no aclose: the process "dies"; a new server starts on the same folder
        restarted = JobStore(tmp_path)
        result = restarted.get(running.id).public(), restarted.get(queued.id).public()
        await restarted.aclose()
        for task in list(crashed._tasks):  # noqa: SLF001 - tidy the "dead" server's tasks
            task.cancel()
        return result

    running, queued = asyncio.run(scenario())
    for job in (running, queued):
        assert job["status"] == "error" and job["message"] == "Прервано перезапуском сервера"
        assert job["error"]["code"] == "interrupted" and "перезапуском" in job["error"]["message"]
        assert "result_url" not in job


def test_shutdown_records_unfinished_jobs_as_interrupted(tmp_path: Path) -> None:
    async def scenario() -> dict:
        store = JobStore(tmp_path)

        async def slow(progress) -> dict:  # type: ignore[no-untyped-def]
            await asyncio.sleep(60)
            return {}

        job = store.submit(slow)
        await asyncio.sleep(0.1)
        await store.aclose()
        again = JobStore(tmp_path)
        public = again.get(job.id).public()
        await again.aclose()
        return public

    job = asyncio.run(scenario())
    assert job["status"] == "error" and job["error"]["code"] == "interrupted"


def test_a_failed_result_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
        raise OSError(28, "No space left on device")

    async def scenario() -> dict:
        store = JobStore(tmp_path)

        async def render(progress) -> RenderResult:  # type: ignore[no-untyped-def]
            return render_result(b"x" * 100_000)

        monkeypatch.setattr(os, "replace", broken_replace)
        job = store.submit(render)
        await finish(store, job.id)
        monkeypatch.undo()
        await store.aclose()
        return job.public()

    job = asyncio.run(scenario())
    assert job["status"] == "error" and job["error"]["code"] == "internal_error"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("jobs.sqlite3")) == []


def test_cleanup_keeps_the_newest_and_sweeps_orphans(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        store = JobStore(tmp_path, keep=2)

        async def render(progress) -> RenderResult:  # type: ignore[no-untyped-def]
            return render_result(b"mp4")

        ids = []
        for _ in range(4):
            job = store.submit(render)
            await finish(store, job.id)
            ids.append(job.id)
        assert sorted(store.jobs) == sorted(ids[2:])
        await store.aclose()
        return ids

    ids = asyncio.run(scenario())
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == sorted(f"{i}.mp4" for i in ids[2:])

    # files of a crashed write and a result whose job is gone are removed at start-up
    (tmp_path / "0123456789ab.mp4").write_bytes(b"orphan")
    (tmp_path / f".{ids[3]}.mp4.deadbeef.part").write_bytes(b"half")

    async def restart(**options: float) -> list[str]:
        store = JobStore(tmp_path, **options)
        names = sorted(store.jobs)
        await store.aclose()
        return names

    assert asyncio.run(restart(keep=2)) == sorted(ids[2:])
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("jobs.sqlite3")) == \
        sorted(f"{i}.mp4" for i in ids[2:])
    # past max_age every finished job goes, with its result
    assert asyncio.run(restart(max_age_s=0.0)) == []
    assert list(tmp_path.glob("*.mp4")) == []
