"""bench.py fold: the first token turn by turn while old turns fold into the summary, with little idle time.

``python scripts/bench.py fold [--turns N] [--gap S] [--think S] [--chars-per-s N] [--openers]
[--memory KEY=VALUE ...] [--out FILE]``

The real ``Brain`` (the configured LLM, the default persona, a fresh temporary database) is told the
child's lines of ``bench.py brain`` (session 1, then again from the start when ``--turns`` asks for
more) in one conversation, paced as the live session paces it: after each reply ``Brain.warm_idle``
runs in the background (one at a time, the next turn preempts it), and the next line is said when
the reply would have been heard (its speech from its first chunk on, at ``--chars-per-s``) plus
``--think`` seconds (the user's pause, the lead-in silence and the first partial transcript, after
which anticipation claims the LLM). ``--gap S`` instead says the next line S seconds after the reply's
text is done (0: no idle time at all, every due fold waits until it is forced).

Per turn: the model's first token (``first_token_s``, seconds from the question), the prompt's tokens
and how many of them were evaluated (not cached), and ``fold``: ``idle`` when a fold into the summary
was stored in the idle time before the turn, ``forced`` when one was stored at the turn's end (the
next turn's ``after_fold`` then marks the turn whose prompt it rewrote). The summary gives the first
token's p50 and max, and the first token of the turns right after a fold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ai_pipeline import registry
from ai_pipeline.settings import Settings

CHARS_PER_S = 14.0  # the persona's speech rate (RHVoice, Russian): characters of text per second
THINK_S = 1.7  # reply heard -> the LLM is claimed by the next question (0.7 pause + 0.5 lead-in + first partial)


def _lines(count: int) -> list[str]:
    from bench_brain import TURNS  # scripts/bench_brain.py, beside this file

    said = [t.text for t in TURNS if t.session == 1]
    return [said[i % len(said)] for i in range(count)]


async def _conversation(settings: Settings, lines: list[str], gap: float | None, think: float,
                        chars_per_s: float, openers: bool, progress: Callable[[str], None]) -> list[dict[str, object]]:
    from backend.conversation import Brain, collect_reply
    from backend.db import init_db
    from backend.db.memory import get_summary
    from backend.db.seed import seed_default_persona

    llm = registry.build("llm", settings.llm, settings.models_dir)
    emotion = registry.build("emotion", settings.emotion, settings.models_dir)
    llm.load()
    emotion.load()
    llm.use_state_folder(settings.data_dir / "llm_states", settings.memory.prompt_states_mb << 20)  # as the server
    db = init_db(settings.db_url)
    warm: asyncio.Task[object] | None = None
    turns: list[dict[str, object]] = []

    async def folded_up_to(session: int) -> int | None:
        summary = await db.call(lambda s: get_summary(s, 1, session_id=session))
        return summary.up_to_message_id if summary else None

    try:
        await db.call(seed_default_persona)
        brain = Brain(db, llm, emotion, settings)
        session = await brain.open_session(1)
        await brain.warm(1, session)
        folded, forced = await folded_up_to(session), False
        for i, text in enumerate(lines):
            before = await folded_up_to(session)
            started = time.perf_counter()
            chunks, timings = await collect_reply(brain, 1, session, text, opener=openers)
            done = time.perf_counter() - started
            after = await folded_up_to(session)
            stats = getattr(llm, "last_stats", None)
            speech = " ".join(c.speech for c in chunks).strip()
            turn = {"turn": i + 1, "text": text, "reply": "".join(c.text for c in chunks).strip(),
                    "first_token_s": timings.get("first_token_s"), "first_chunk_s": timings.get("first_chunk_s"),
                    "prompt_tokens": getattr(stats, "prompt_tokens", None),
                    "evaluated_tokens": getattr(stats, "evaluated_tokens", None),
                    "fold": "forced" if after != before else "idle" if before != folded else None,
                    "after_fold": forced or before != folded}
            folded, forced = after, after != before
            turns.append(turn)
            progress(f"fold {i + 1}/{len(lines)} first token {turn['first_token_s']} s, evaluated "
                     f"{turn['evaluated_tokens']}/{turn['prompt_tokens']}"
                     + (f", fold {turn['fold']}" if turn["fold"] else ""))
            if warm is None or warm.done():  # as the live session: one at a time, after the turn
                if warm is not None and not warm.cancelled() and warm.exception() is not None:
                    raise warm.exception()  # type: ignore[misc]
                warm = asyncio.create_task(brain.warm_idle(1, session))
            if gap is None:
                heard = (timings.get("first_chunk_s") or done) + len(speech) / chars_per_s + think
                await asyncio.sleep(max(0.0, heard - done))
            else:
                await asyncio.sleep(gap)
    finally:
        if warm is not None:
            warm.cancel()
            await asyncio.gather(warm, return_exceptions=True)
        db.close()
        llm.close()
    return turns


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def bench_fold(argv: list[str], progress: Callable[[str], None]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="bench.py fold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--gap", type=float, help="seconds between a reply's text and the next line (default: paced)")
    parser.add_argument("--think", type=float, default=THINK_S,
                        help="paced: reply heard -> the next line claims the LLM")
    parser.add_argument("--chars-per-s", type=float, default=CHARS_PER_S, help="paced: the persona's speech rate")
    parser.add_argument("--openers", action="store_true", help="replies begin with openers, as in a live conversation")
    parser.add_argument("--memory", action="append", default=[], metavar="KEY=VALUE",
                        help="override a memory setting (repeatable), e.g. --memory llm_summary=false")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        settings = settings.model_copy(update={"memory": settings.memory.model_validate(
            settings.memory.model_dump() | dict(item.split("=", 1) for item in args.memory))})
        turns = asyncio.run(_conversation(settings, _lines(args.turns), args.gap, args.think, args.chars_per_s,
                                          args.openers, progress))
    firsts = [float(t["first_token_s"]) for t in turns if t["first_token_s"] is not None]  # type: ignore[arg-type]
    after = [float(t["first_token_s"]) for t in turns  # type: ignore[arg-type]
             if t["after_fold"] and t["first_token_s"] is not None]
    report: dict[str, object] = {
        "bench": "fold", "pace": f"gap {args.gap} s" if args.gap is not None else
        f"paced: {args.chars_per_s} chars/s + {args.think} s", "memory": settings.memory.model_dump(),
        "summary": {"first_token_s_p50": _p50(firsts), "first_token_s_max": max(firsts) if firsts else None,
                    "first_token_s_after_fold": after,
                    "folds": {kind: sum(t["fold"] == kind for t in turns) for kind in ("idle", "forced")}},
        "turns": turns}
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def main(argv: list[str]) -> int:
    def progress(line: str) -> None:
        print(f"[bench] {line}", file=sys.stderr, flush=True)

    print(json.dumps(bench_fold(argv, progress), ensure_ascii=False, indent=1))
    return 0
