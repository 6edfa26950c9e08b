/**
 * Where the server's segments sit in the SourceBuffer.
 *
 * One server stream is one timeline starting at 0 (the `t` of each segment; idle and speech follow
 * each other without gaps, and after an interruption idle continues at the stream's `media_time`).
 * A reconnect or a persona switch starts a new stream at 0 with a new `init`: it is placed right
 * after what is already buffered (`timestampOffset`), so playback never jumps back. A live stream
 * cut off mid-way has its audio end up to ~2 AAC frames before its video (the encoder's look-ahead
 * never flushed), so the new stream starts where both tracks are buffered, not where video ends.
 */

import type { MediaEvent } from "../realtime/protocol";
import { toBytes } from "../realtime/protocol";
import type { QueueOp } from "./appendQueue";

export interface PlacedSegment {
  start: number;
  end: number;
  kind: "idle" | "speech";
  turn: number;
  /** The reply chunk this speech says, where the server names it. */
  chunk?: number;
}

export class StreamTimeline {
  /** Buffer time of the current stream's 0. */
  offset = 0;
  /** Buffer time where the last appended media segment ends. */
  end = 0;
  mime: string | null = null;
  segments: PlacedSegment[] = [];
  private initSeen = false;
  private anyMedia = false;
  private lastIndex = 0;

  /**
   * The operations that append an `init` event (a new stream when media was appended before).
   * `bufferedEnd`: where the SourceBuffer's buffered media ends now (all appends done), if known.
   */
  init(event: MediaEvent, bufferedEnd?: number): QueueOp[] {
    const ops: QueueOp[] = [];
    if (this.mime && event.mime && event.mime !== this.mime) ops.push({ op: "changeType", mime: event.mime });
    if (this.anyMedia) {
      const end = bufferedEnd !== undefined && bufferedEnd > this.end - 0.5 ? Math.min(this.end, bufferedEnd) : this.end;
      this.offset = end;
      this.end = end;
      ops.push({ op: "offset", value: this.offset });
    }
    if (event.mime) this.mime = event.mime;
    this.initSeen = true;
    this.lastIndex = 0;
    ops.push({ op: "append", data: toBytes(event.data), label: "init" });
    return ops;
  }

  /** The operations that append a media `segment` event (nothing before the stream's init, or for a repeat). */
  segment(event: MediaEvent): QueueOp[] {
    if (!this.initSeen || (event.index && event.index <= this.lastIndex)) return [];
    this.lastIndex = event.index || this.lastIndex;
    const start = event.t + this.offset;
    const end = start + event.duration;
    const kind = event.kind === "speech" ? "speech" : "idle";
    const chunk = event.chunk;
    this.segments.push({ start, end, kind, turn: event.turn, ...(typeof chunk === "number" ? { chunk } : {}) });
    this.end = Math.max(this.end, end);
    this.anyMedia = true;
    return [{ op: "append", data: toBytes(event.data), label: `${kind}:${event.index}` }];
  }

  /** Buffer time of a stream time (e.g. `interrupted.media_time`). */
  toBuffer(mediaTime: number): number {
    return mediaTime + this.offset;
  }

  /** Whether any speech lies between buffer times `from` and `to`. */
  speechBetween(from: number, to: number): boolean {
    return this.segments.some((s) => s.kind === "speech" && s.end > from + 1e-3 && s.start < to - 1e-3);
  }

  kindAt(time: number): "idle" | "speech" | null {
    return this.segmentAt(time)?.kind ?? null;
  }

  segmentAt(time: number): PlacedSegment | undefined {
    return this.segments.find((seg) => seg.start <= time && time < seg.end);
  }

  /** Forget segments that ended before `time` (they were trimmed from the buffer). */
  forget(time: number): void {
    this.segments = this.segments.filter((s) => s.end >= time);
  }
}
