import { describe, expect, it } from "vitest";
import { CaptionTrack } from "./captionTrack";
import type { PlacedSegment } from "./timeline";

/** Speech of `turn` in 0.5 s segments from `from` to `to`, idle around it. */
function speech(turn: number, from: number, to: number): PlacedSegment[] {
  const out: PlacedSegment[] = [{ start: 0, end: from, kind: "idle", turn: 0 }];
  for (let t = from; t < to - 1e-9; t += 0.5) out.push({ start: t, end: t + 0.5, kind: "speech", turn });
  out.push({ start: to, end: to + 2, kind: "idle", turn: 0 });
  return out;
}

describe("CaptionTrack", () => {
  it("shows the chunk whose speech plays now, and nothing in silence", () => {
    const track = new CaptionTrack(10); // 10 characters a second
    const segments = speech(1, 4, 10);
    track.reply(1, 0, "Привет, друг!", 2); // 13 characters: about 1.3 s of speech
    track.reply(1, 1, " Как дела?", 2.5); // arrived early: placed by the speaking rate, snapped to 5.5
    expect(track.textAt(3, segments)).toBeNull(); // idle before the answer: no caption yet
    expect(track.textAt(4.1, segments)).toBe("Привет, друг!");
    expect(track.textAt(5.2, segments)).toBe("Привет, друг!");
    expect(track.textAt(5.6, segments)).toBe("Как дела?");
    expect(track.textAt(10.5, segments)).toBeNull(); // silence after the answer
  });

  it("never places a chunk before the stream's end when its text arrived", () => {
    const track = new CaptionTrack(10);
    const segments = speech(2, 1, 8);
    track.reply(2, 0, "Раз.", 0.5);
    track.reply(2, 1, "Два.", 6.2); // the text came while the first clip was still being sent
    expect(track.textAt(3, segments)).toBe("Раз.");
    expect(track.textAt(6.1, segments)).toBe("Раз.");
    expect(track.textAt(6.6, segments)).toBe("Два.");
  });

  it("uses the chunk the server names on a segment, and forgets everything on a new stream", () => {
    const track = new CaptionTrack();
    const segments: PlacedSegment[] = [
      { start: 0, end: 1, kind: "speech", turn: 1, chunk: 0 },
      { start: 1, end: 2, kind: "speech", turn: 1, chunk: 1 },
    ];
    track.reply(1, 0, "Один.", 0);
    track.reply(1, 1, "Два.", 0);
    expect(track.textAt(1.5, segments)).toBe("Два.");
    track.reset();
    expect(track.textAt(1.5, segments)).toBeNull();
  });
});
