"""Soak and capacity of the live server, as ``python scripts/bench.py soak [--minutes M]``.

The real server runs as its own process (``python -m backend.cli serve`` on a free loopback port,
no Redis), so its memory, CPU and threads are measured from outside with psutil.

capacity: with the session cap lifted, 1, 2, 3... clients talk at once (a question every few seconds)
for ``CAPACITY_S``; a client's stream is real time when its media clock advances as fast as the wall
clock between its first and last segment. The capacity is the most clients whose slowest stream stays
at >= 0.97x real time with no stream ever more than 0.5 s behind its playback clock, and every client
got its answers: half within 4 s of the question, none later than 12 s (the clients ask non-stop, so
questions often arrive together and wait for the one LLM). It is the figure for ``realtime.max_sessions``.

soak: 4 clients for ``minutes`` against the default cap; each repeatedly connects, starts, asks (spoken
PCM streamed in real time, or text), sometimes barges in (``stop`` after the first speech segment),
and leaves; a ``busy`` refusal is counted and retried a moment later. Reported: RSS at the start, the
end and the peak; threads and event-loop tasks; CPU of the server at rest before, and how long after
the last client left it was back to that baseline; the time to stop on SIGTERM. Everything stops by
itself (a hard deadline on every wait).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
import socketio

NS = "/conversation"
QUESTIONS = ["Привет! Как тебя зовут?", "Что ты любишь рисовать?", "Какой твой любимый цвет?",
             "Расскажи про свою собаку.", "Сколько тебе лет?"]
CAPACITY_S = 45.0
REAL_TIME = 0.97
MAX_STALL_S = 0.5  # a stream this far behind its playback clock shows a visible pause
MAX_ANSWER_P50_S = 4.0  # typical answer (question -> first speech segment) while everyone talks at once
MAX_ANSWER_S = 12.0  # the slowest answer: two questions at the same moment share one LLM


def _log(message: str) -> None:
    print(f"[soak] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``avatar serve`` in a subprocess with its own data folder; measured with psutil."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port)],
            env={**os.environ, "AVATAR_DATA_DIR": str(data_dir), "AVATAR_REDIS__URL": "redis://127.0.0.1:1/0",
                 **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    def wait_ready(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the server did not start")

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def cpu(self, window_s: float) -> float:
        """CPU share (1.0 = one core) over ``window_s``."""
        before = sum(self.ps.cpu_times()[:2])
        time.sleep(window_s)
        return (sum(self.ps.cpu_times()[:2]) - before) / window_s

    def live(self) -> dict:
        return httpx.get(f"{self.url}/api/health/live", timeout=10).json()

    def stop(self) -> float:
        """SIGTERM; seconds until the process was gone."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return time.monotonic() - started


@dataclass
class Stats:
    visits: int = 0
    busy: int = 0
    turns: int = 0
    barge_ins: int = 0
    errors: list[str] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)  # media seconds per wall second, per visit
    latencies: list[float] = field(default_factory=list)  # question sent -> first speech segment, s

    def latency(self, q: float) -> float | None:
        return round(float(np.quantile(self.latencies, q)), 2) if self.latencies else None


class Visitor:
    """One socket.io client; records events with arrival times."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[float, str, object]] = []
        self.sio.on("*", self._any, namespace=NS)

    async def _any(self, event: str, data: object = None) -> None:
        self.events.append((time.monotonic(), event, data))

    async def wait(self, names: tuple[str, ...], after: int = 0, timeout_s: float = 120, where=lambda d: True):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for t, e, d in self.events[after:]:
                if e in names and where(d):
                    return t, e, d
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no {names} within {timeout_s} s")

    def rate(self) -> float | None:
        """Media time advanced per wall second over this visit's segments."""
        segs = [(t, d) for t, e, d in self.events if e == "segment"]
        if len(segs) < 10:
            return None
        (t0, d0), (t1, d1) = segs[0], segs[-1]
        wall = t1 - t0
        return (d1["t"] - d0["t"]) / wall if wall > 1 else None


async def _speak(v: Visitor, pcm: bytes) -> None:
    """Stream 16 kHz PCM in real time, 160 ms per message."""
    step = 5120
    for i in range(0, len(pcm), step):
        await v.sio.emit("audio", pcm[i:i + step], namespace=NS)
        await asyncio.sleep(step / 2 / 16000)


async def visit(url: str, stats: Stats, voices: list[bytes], rng: random.Random, turns: int,
                barge_p: float, pause_s: float) -> None:
    v = Visitor()
    try:
        await v.sio.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=30)
        await v.sio.emit("start", {"audio_format": "pcm16", "sample_rate": 16000}, namespace=NS)
        _, event, data = await v.wait(("ready", "error"))
        if event == "error":
            if data["code"] == "busy":
                stats.busy += 1
                await asyncio.sleep(min(3.0, data.get("retry_after_s", 3)))
            else:
                stats.errors.append(data["code"])
            return
        for n in range(turns):
            mark = len(v.events)
            if n % 2 == 0:
                await _speak(v, rng.choice(voices))  # ends with 1.5 s of silence, as people pause
                asked = time.monotonic() - 1.5
            else:
                await v.sio.emit("text", {"text": rng.choice(QUESTIONS)}, namespace=NS)
                asked = time.monotonic()
            answered, _, _ = await v.wait(("segment",), mark, where=lambda d: d["kind"] == "speech")
            stats.latencies.append(answered - asked)
            if rng.random() < barge_p:
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                await v.sio.emit("stop", namespace=NS)
                stats.barge_ins += 1
                await v.wait(("interrupted", "turn_end"), mark)
            else:
                await v.wait(("turn_end",), mark)
            stats.turns += 1
            await asyncio.sleep(pause_s)
        stats.visits += 1
    except (TimeoutError, socketio.exceptions.SocketIOError) as exc:
        stats.errors.append(type(exc).__name__)
    finally:  # also when the caller's time limit cancels the visit
        stats.errors += [d["code"] for _, e, d in v.events if e == "error" and d["code"] != "rate_limited"]
        if (rate := v.rate()) is not None:
            stats.rates.append(rate)
        if v.sio.connected:
            await v.sio.disconnect()


def _voices() -> list[bytes]:
    from ai_pipeline.tts.festival import FestivalSettings, FestivalTTS

    tts = FestivalTTS(FestivalSettings())
    tts.load()
    try:
        out = []
        for q in QUESTIONS[:3]:
            speech = tts.synthesize_sentence(q).samples
            audio = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(24000, np.float32)])
            out.append((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        return out
    finally:
        tts.close()


def _idle_cpu(server: ServerProcess, samples: int = 6, settle_s: float = 180) -> float:
    """The server's CPU at rest, once the start-up work (the persona prefill) has finished."""
    deadline = time.monotonic() + settle_s
    while server.cpu(1.0) > 0.1 and time.monotonic() < deadline:
        pass
    return float(np.median([server.cpu(0.5) for _ in range(samples)]))


def capacity(max_clients: int = 4) -> dict[str, object]:
    """The most clients whose streams all stay real time while they talk."""
    voices = _voices()
    rows, best = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), {"AVATAR_REALTIME__MAX_SESSIONS": str(max_clients + 1)})
        try:
            server.wait_ready()
            time.sleep(10)  # the start-up prefill
            for n in range(1, max_clients + 1):
                stats = Stats()

                async def talkers() -> dict:
                    rng = random.Random(n)
                    tasks = [visit(server.url, stats, voices, rng, turns=100, barge_p=0.0, pause_s=1.0)
                             for _ in range(n)]
                    peak: dict = {"behind_s": 0.0, "degraded": 0}

                    async def watch() -> None:
                        while True:
                            state = await asyncio.to_thread(server.live)
                            peak["behind_s"] = max([peak["behind_s"], *state["behind_s"].values()])
                            peak["degraded"] = max(peak["degraded"], len(state["degraded"]))
                            await asyncio.sleep(1)

                    watcher = asyncio.create_task(watch())
                    try:
                        await asyncio.wait_for(asyncio.gather(*tasks), CAPACITY_S)
                    except TimeoutError:
                        pass
                    watcher.cancel()
                    return peak

                peak = asyncio.run(talkers())
                slowest = min(stats.rates) if stats.rates else 0.0
                row = {"clients": n, "slowest_stream_x_real_time": round(slowest, 3),
                       "peak_behind_s": round(peak["behind_s"], 2), "degraded_streams": peak["degraded"],
                       "answers": len(stats.latencies), "first_segment_p50_s": stats.latency(0.5),
                       "first_segment_max_s": stats.latency(1.0), "errors": stats.errors[:5]}
                row["real_time"] = (slowest >= REAL_TIME and peak["behind_s"] <= MAX_STALL_S
                                    and len(stats.latencies) >= n and stats.latency(0.5) <= MAX_ANSWER_P50_S
                                    and stats.latency(1.0) <= MAX_ANSWER_S)
                rows.append(row)
                _log(f"capacity {row}")
                if row["real_time"] and best == n - 1:
                    best = n
                time.sleep(3)
        finally:
            server.stop()
    return {"capacity_sessions": best,
            "rule": f"slowest stream >= {REAL_TIME}x real time, no stream more than {MAX_STALL_S} s behind, "
                    f"every client answered, answers p50 <= {MAX_ANSWER_P50_S} s and max <= {MAX_ANSWER_S} s",
            "runs": rows}


def soak(minutes: float = 10.0, clients: int = 4) -> dict[str, object]:
    voices = _voices()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        try:
            server.wait_ready()
            time.sleep(10)
            baseline = _idle_cpu(server)
            start = {"rss_mb": round(server.rss_mb(), 1), "threads": server.ps.num_threads(),
                     "tasks": server.live()["tasks"]}
            _log(f"idle baseline cpu {baseline:.3f}, {start}")
            stats, samples = Stats(), []

            async def crowd() -> None:
                deadline = time.monotonic() + minutes * 60

                async def one(i: int) -> None:
                    rng = random.Random(i)
                    while time.monotonic() < deadline:
                        await visit(server.url, stats, voices, rng, turns=rng.randint(1, 3), barge_p=0.4,
                                    pause_s=rng.uniform(0.5, 3.0))
                        await asyncio.sleep(rng.uniform(0.2, 2.0))

                async def sample() -> None:
                    while True:
                        live = await asyncio.to_thread(server.live)
                        samples.append({"t": round(time.monotonic(), 1), "rss_mb": round(server.rss_mb(), 1),
                                        "threads": server.ps.num_threads(), "tasks": live["tasks"],
                                        "sessions": live["sessions"]})
                        if len(samples) % 6 == 0:
                            _log(f"{samples[-1]} visits {stats.visits} busy {stats.busy} turns {stats.turns}")
                        await asyncio.sleep(10)

                sampler = asyncio.create_task(sample())
                await asyncio.gather(*(one(i) for i in range(clients)))
                sampler.cancel()

            asyncio.run(crowd())
            left = time.monotonic()
            after = []
            while time.monotonic() - left < 15:
                after.append((round(time.monotonic() - left, 2), server.cpu(0.5)))
            back = next((t for t, c in after if c <= baseline + 0.05), None)
            end_live = server.live()
            end = {"rss_mb": round(server.rss_mb(), 1), "threads": server.ps.num_threads(),
                   "tasks": end_live["tasks"], "sessions": end_live["sessions"], "streams": end_live["streams"]}
        finally:
            stop_s = server.stop()
    peak_rss = max([s["rss_mb"] for s in samples] + [end["rss_mb"]])
    return {
        "minutes": minutes, "clients": clients, "visits": stats.visits, "turns": stats.turns,
        "barge_ins": stats.barge_ins, "busy_refusals": stats.busy, "errors": sorted(set(stats.errors)),
        "error_count": len(stats.errors),
        "slowest_stream_x_real_time": round(min(stats.rates), 3) if stats.rates else None,
        "first_segment_s": {"p50": stats.latency(0.5), "p90": stats.latency(0.9), "max": stats.latency(1.0)},
        "rss_mb": {"start": start["rss_mb"], "end": end["rss_mb"], "peak": peak_rss,
                   "growth": round(end["rss_mb"] - start["rss_mb"], 1)},
        "threads": {"start": start["threads"], "end": end["threads"],
                    "peak": max([s["threads"] for s in samples] + [end["threads"]])},
        "tasks": {"start": start["tasks"], "end": end["tasks"], "peak": max([s["tasks"] for s in samples] + [0])},
        "after_last_client": {"sessions": end["sessions"], "streams": end["streams"],
                              "cpu_baseline": round(baseline, 3), "back_to_baseline_s": back,
                              "cpu": [(t, round(c, 3)) for t, c in after[:12]]},
        "sigterm_stop_s": round(stop_s, 2),
        "samples": samples,
    }
