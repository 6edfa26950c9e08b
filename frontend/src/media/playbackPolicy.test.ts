import { describe, expect, it } from "vitest";
import { decidePlayback, defaultPolicy, trimRange, type PlaybackView } from "./playbackPolicy";
import type { Range } from "./sourceBuffer";

const noSpeech = () => false;

function view(currentTime: number, ranges: Range[], extra: Partial<PlaybackView> = {}): PlaybackView {
  return { currentTime, ranges, skipTo: null, speechBetween: noSpeech, ...extra };
}

describe("decidePlayback", () => {
  it("leaves normal playback alone and waits on the last frame when data runs out", () => {
    expect(decidePlayback(view(1.0, [[0, 1.4]])).seek).toBeNull();
    expect(decidePlayback(view(1.4, [[0, 1.4]])).seek).toBeNull(); // stalled at the end: wait, no reset
    expect(decidePlayback(view(0, [])).seek).toBeNull();
  });

  it("starts at the first buffered time and jumps over holes", () => {
    expect(decidePlayback(view(0, [[0.03, 1]]))).toMatchObject({ seek: null }); // within tolerance
    expect(decidePlayback(view(0, [[0.064, 1]]))).toMatchObject({ seek: 0.074, reason: "gap" });
    expect(decidePlayback(view(0, [[0.3, 1]]))).toMatchObject({ seek: 0.31, reason: "gap" });
    expect(decidePlayback(view(1.1, [[0, 1.088], [1.2, 2.0]]))).toMatchObject({ seek: 1.21, reason: "gap" });
  });

  it("catches up with the live edge through idle video", () => {
    const d = decidePlayback(view(2.0, [[0, 3.5]]));
    expect(d.reason).toBe("live-edge");
    expect(d.seek).toBeCloseTo(3.5 - defaultPolicy.targetLag, 5);
    expect(decidePlayback(view(2.6, [[0, 3.5]])).seek).toBeNull(); // 0.9 s behind is fine
  });

  it("never skips speech to catch up, unless hopelessly behind", () => {
    const speech = (from: number, to: number) => from < 3.0 && to > 2.5;
    expect(decidePlayback(view(2.0, [[0, 3.5]], { speechBetween: speech })).seek).toBeNull();
    const far = decidePlayback(view(2.0, [[0, 7.0]], { speechBetween: speech }));
    expect(far).toMatchObject({ reason: "live-edge" });
  });

  it("after an interruption skips the already-sent speech once the idle after it is buffered", () => {
    const waiting = decidePlayback(view(1.0, [[0, 1.7]], { skipTo: 1.8 }));
    expect(waiting).toMatchObject({ seek: null, skipDone: false });
    const ready = decidePlayback(view(1.0, [[0, 2.0]], { skipTo: 1.8 }));
    expect(ready).toMatchObject({ seek: 1.8, skipDone: true, reason: "interrupted" });
    // only a little speech left: play it out rather than cut
    expect(decidePlayback(view(1.7, [[0, 2.0]], { skipTo: 1.8 }))).toMatchObject({ seek: null, skipDone: true });
    // never backwards
    expect(decidePlayback(view(2.5, [[0, 3.0]], { skipTo: 1.8 }))).toMatchObject({ seek: null, skipDone: true });
  });
});

describe("trimRange", () => {
  it("keeps ten seconds behind the playhead and trims in steps", () => {
    expect(trimRange([[0, 11]], 10.5)).toBeNull();
    expect(trimRange([[0, 13]], 12.5)).toEqual([0, 2.5]);
    expect(trimRange([[2.5, 14]], 13.5)).toBeNull(); // only 1 s more than kept: wait for the next step
    expect(trimRange([], 100)).toBeNull();
  });
});
