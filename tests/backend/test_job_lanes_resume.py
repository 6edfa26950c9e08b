"""The job store's lanes (a long training does not hold up renders) and resumable jobs (queued again
after a restart, with their ``params`` and last ``details``, for their owner to submit again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backend.jobs import RESUME_MESSAGE, JobStore
from tests.backend.test_jobs import finish


def test_a_job_in_its_own_lane_does_not_hold_up_the_default_lane(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str]:
        store = JobStore(tmp_path)
        release = asyncio.Event()

        async def long(progress) -> dict:  # type: ignore[no-untyped-def]
            progress(0.5, "Обучение", {"stage": "training", "step": 3})
            await release.wait()
            return {"trained": True}

        async def quick(progress) -> dict:  # type: ignore[no-untyped-def]
            return {"quick": True}

        training = store.submit(long, kind="voice_train", lane="training", params={"voice_id": "v1"})
        queued_behind = store.submit(long, kind="voice_train", lane="training", params={"voice_id": "v2"})
        other = store.submit(quick, kind="voice")
        await finish(store, other.id)  # done while the training still runs
        state = store.get(training.id).status, store.get(queued_behind.id).status
        details = store.get(training.id).public()["details"]
        release.set()
        await finish(store, training.id)
        await finish(store, queued_behind.id)
        await store.aclose()
        assert details == {"stage": "training", "step": 3}
        return state

    assert asyncio.run(scenario()) == ("running", "queued")  # one at a time within the lane


def test_resumable_jobs_wait_for_their_owner_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict, dict, list[str], list[str], dict]:
        store = JobStore(tmp_path)
        started = asyncio.Event()

        async def forever(progress) -> dict:  # type: ignore[no-untyped-def]
            progress(0.4, "Обучение", {"stage": "training", "step": 7})
            started.set()
            await asyncio.Event().wait()
            return {}

        resumable = store.submit(forever, kind="voice_train", lane="training", params={"voice_id": "v1"})
        plain = store.submit(forever, kind="voice")
        await started.wait()
        await asyncio.sleep(0.05)
        await store.aclose()  # a clean shutdown

        again = JobStore(tmp_path)
        after = again.get(resumable.id).public(), again.get(plain.id).public()
        pending = [j.id for j in again.pending("voice_train")]

        async def resumed(progress) -> dict:  # type: ignore[no-untyped-def]
            return {"resumed": True}

        job = again.submit(resumed, kind="voice_train", job=again.get(resumable.id))
        await finish(again, job.id)
        left = [j.id for j in again.pending("voice_train")]
        done = again.get(resumable.id).public()
        await again.aclose()
        assert job.params == {"voice_id": "v1"} and "params" not in done
        return after[0], after[1], pending, left, done

    resumable, plain, pending, left, done = asyncio.run(scenario())
    assert resumable["status"] == "queued" and resumable["message"] == RESUME_MESSAGE
    assert plain["status"] == "error" and plain["error"]["code"] == "interrupted"
    assert pending == [resumable["id"]] and left == []
    assert done["status"] == "done" and done["result"] == {"resumed": True} and done["id"] == resumable["id"]
