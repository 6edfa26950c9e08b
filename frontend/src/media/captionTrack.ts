/**
 * Which reply chunk's text is being spoken at a point of the player's timeline (captions).
 *
 * The stream's speech segments carry their turn but not which reply chunk they say (unless the server
 * adds `chunk`), so a chunk's start is placed on the turn's speech: never before the stream's end at
 * the moment its text arrived (the server sends a chunk's text before its speech), at the speaking
 * rate its characters need after the turn's first speech, snapped to a segment start (a clip always
 * starts a new segment). The caption changes when playback reaches a chunk, not when its text arrives.
 */

import type { PlacedSegment } from "./timeline";

/** Characters per second of Russian TTS speech (to place chunks the server does not mark). */
export const CHARS_PER_SECOND = 14;

interface Chunk {
  index: number;
  text: string;
  /** The stream's buffered end when the text arrived. */
  after: number;
}

export class CaptionTrack {
  private readonly turns = new Map<number, Chunk[]>();

  constructor(private readonly charsPerSecond = CHARS_PER_SECOND) {}

  /** A reply chunk's text arrived while the stream's media ended at `streamEnd` (buffer time). */
  reply(turn: number, index: number, text: string, streamEnd: number): void {
    const chunks = this.turns.get(turn) ?? [];
    const known = chunks.find((c) => c.index === index);
    if (known) known.text = text;
    else chunks.push({ index, text, after: streamEnd });
    chunks.sort((a, b) => a.index - b.index);
    this.turns.set(turn, chunks);
    for (const old of this.turns.keys()) if (old < turn - 3) this.turns.delete(old);
  }

  /** A new stream (a new live session): turn numbers start again. */
  reset(): void {
    this.turns.clear();
  }

  /** The caption at buffer time `time`, or null in silence. */
  textAt(time: number, segments: PlacedSegment[]): string | null {
    const here = segments.find((s) => s.start <= time && time < s.end);
    if (!here || here.kind !== "speech") return null;
    const chunks = this.turns.get(here.turn);
    if (!chunks?.length) return null;
    if (typeof here.chunk === "number") return chunks.find((c) => c.index === here.chunk)?.text.trim() || null;
    const starts = segments.filter((s) => s.kind === "speech" && s.turn === here.turn).map((s) => s.start).sort((a, b) => a - b);
    const turnStart = starts[0];
    let chars = 0;
    let previous = turnStart;
    let current: Chunk | null = null;
    for (const [i, chunk] of chunks.entries()) {
      let start = turnStart;
      if (i > 0) {
        const wanted = Math.max(previous, chunk.after - 0.05, turnStart + chars / this.charsPerSecond);
        const snapped = starts.find((s) => s >= wanted - 0.05);
        if (snapped === undefined) break; // its speech has not arrived yet
        start = snapped;
      }
      if (start > time) break;
      current = chunk;
      previous = start;
      chars += chunk.text.length;
    }
    return current?.text.trim() || null;
  }
}
