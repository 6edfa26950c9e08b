/**
 * An implementation of the SourceBuffer contract for tests (jsdom has no Media Source Extensions):
 * it parses the fragmented MP4 it is given (moov: track ids and timescales; moof: tfdt + trun) and
 * keeps per-track buffered ranges like a browser does. One operation at a time: `updating` is true
 * from appendBuffer/remove until the `updateend` event, which fires asynchronously; calling either
 * while updating throws InvalidStateError; a media segment before any init segment, or bytes that
 * are not MP4, fire `error`; `capacity` (bytes) makes appends throw QuotaExceededError.
 */

import type { SourceBufferLike, TimeRangesLike } from "../sourceBuffer";

interface Box {
  type: string;
  start: number;
  end: number;
  body: number;
}

function readBoxes(view: DataView, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(view.getUint8(at + 4), view.getUint8(at + 5), view.getUint8(at + 6), view.getUint8(at + 7));
    if (size < 8 || at + size > end) throw new Error(`bad box ${type} size ${size}`);
    boxes.push({ type, start: at, end: at + size, body: at + 8 });
    at += size;
  }
  return boxes;
}

function child(view: DataView, parent: Box, type: string): Box | undefined {
  return readBoxes(view, parent.body, parent.end).find((b) => b.type === type);
}

function children(view: DataView, parent: Box, type: string): Box[] {
  return readBoxes(view, parent.body, parent.end).filter((b) => b.type === type);
}

interface Chunk {
  start: number;
  end: number;
  bytes: number;
}

type Ranges = [number, number][];

function merge(chunks: Chunk[], tolerance: number): Ranges {
  const sorted = [...chunks].sort((a, b) => a.start - b.start);
  const out: Ranges = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (last && c.start <= last[1] + tolerance) last[1] = Math.max(last[1], c.end);
    else out.push([c.start, c.end]);
  }
  return out;
}

function intersect(a: Ranges, b: Ranges): Ranges {
  const out: Ranges = [];
  for (const [s1, e1] of a) {
    for (const [s2, e2] of b) {
      const s = Math.max(s1, s2);
      const e = Math.min(e1, e2);
      if (e > s) out.push([s, e]);
    }
  }
  return out.sort((x, y) => x[0] - y[0]);
}

class Ranges_ implements TimeRangesLike {
  constructor(private readonly ranges: Ranges) {}
  get length() {
    return this.ranges.length;
  }
  start(i: number) {
    if (i >= this.ranges.length) throw new DOMException("index", "IndexSizeError");
    return this.ranges[i][0];
  }
  end(i: number) {
    if (i >= this.ranges.length) throw new DOMException("index", "IndexSizeError");
    return this.ranges[i][1];
  }
}

export class Mp4SourceBuffer implements SourceBufferLike {
  updating = false;
  timestampOffset = 0;
  mode: "segments" | "sequence" = "segments";
  /** Every operation that completed, in order (for assertions). */
  readonly log: string[] = [];
  /** Media segments (moof sequence numbers) in append order. */
  readonly sequence: number[] = [];
  private readonly timescales = new Map<number, number>();
  private readonly tracks = new Map<number, Chunk[]>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private type: string;

  constructor(type: string, private readonly capacity = Infinity, private readonly delayMs = 1) {
    this.type = type;
  }

  get mime(): string {
    return this.type;
  }

  get bytes(): number {
    let sum = 0;
    for (const chunks of this.tracks.values()) for (const c of chunks) sum += c.bytes;
    return sum;
  }

  get buffered(): TimeRangesLike {
    const perTrack = [...this.tracks.values()].map((chunks) => merge(chunks, 0.02));
    if (!perTrack.length) return new Ranges_([]);
    return new Ranges_(perTrack.reduce((acc, r) => intersect(acc, r)));
  }

  addEventListener(type: string, listener: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  changeType(type: string): void {
    if (this.updating) throw new DOMException("updating", "InvalidStateError");
    this.type = type;
    this.log.push(`changeType ${type}`);
  }

  appendBuffer(data: BufferSource): void {
    if (this.updating) throw new DOMException("appendBuffer while updating", "InvalidStateError");
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.bytes + bytes.byteLength > this.capacity) throw new DOMException("full", "QuotaExceededError");
    this.updating = true;
    const copy = bytes.slice();
    setTimeout(() => {
      let ok = true;
      try {
        this.parse(copy);
      } catch (error) {
        ok = false;
        this.log.push(`error ${(error as Error).message}`);
      }
      this.updating = false;
      if (!ok) this.fire("error");
      this.fire("updateend");
    }, this.delayMs);
  }

  remove(start: number, end: number): void {
    if (this.updating) throw new DOMException("remove while updating", "InvalidStateError");
    this.updating = true;
    setTimeout(() => {
      for (const [id, chunks] of this.tracks) {
        const kept: Chunk[] = [];
        for (const c of chunks) {
          if (c.end <= start || c.start >= end) kept.push(c);
          else if (c.start < start) kept.push({ start: c.start, end: start, bytes: c.bytes * ((start - c.start) / (c.end - c.start)) });
          else if (c.end > end) kept.push({ start: end, end: c.end, bytes: c.bytes * ((c.end - end) / (c.end - c.start)) });
        }
        this.tracks.set(id, kept);
      }
      this.log.push(`remove ${start.toFixed(2)}-${end.toFixed(2)}`);
      this.updating = false;
      this.fire("updateend");
    }, this.delayMs);
  }

  private fire(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
  }

  private parse(bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const top = readBoxes(view, 0, bytes.byteLength);
    if (!top.length) throw new Error("not MP4");
    const moov = top.find((b) => b.type === "moov");
    if (moov) {
      for (const trak of children(view, moov, "trak")) {
        const tkhd = child(view, trak, "tkhd")!;
        const v = view.getUint8(tkhd.body);
        const trackId = view.getUint32(tkhd.body + (v === 1 ? 20 : 12));
        const mdhd = child(view, child(view, trak, "mdia")!, "mdhd")!;
        const mv = view.getUint8(mdhd.body);
        this.timescales.set(trackId, view.getUint32(mdhd.body + (mv === 1 ? 20 : 12)));
        if (!this.tracks.has(trackId)) this.tracks.set(trackId, []);
      }
      this.log.push("init");
    }
    for (const moof of top.filter((b) => b.type === "moof")) {
      if (!this.timescales.size) throw new Error("media segment before init segment");
      const mfhd = child(view, moof, "mfhd")!;
      this.sequence.push(view.getUint32(mfhd.body + 4));
      const mdat = top.find((b) => b.type === "mdat" && b.start > moof.start);
      for (const traf of children(view, moof, "traf")) {
        const tfhd = child(view, traf, "tfhd")!;
        const trackId = view.getUint32(tfhd.body + 4);
        const scale = this.timescales.get(trackId);
        if (!scale) throw new Error(`unknown track ${trackId}`);
        const tfdt = child(view, traf, "tfdt")!;
        const base = view.getUint8(tfdt.body) === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4);
        let duration = 0;
        let size = 0;
        for (const trun of children(view, traf, "trun")) {
          const flags = view.getUint32(trun.body) & 0xffffff;
          const count = view.getUint32(trun.body + 4);
          let at = trun.body + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
          for (let i = 0; i < count; i++) {
            if (flags & 0x100) {
              duration += view.getUint32(at);
              at += 4;
            }
            if (flags & 0x200) {
              size += view.getUint32(at);
              at += 4;
            }
            if (flags & 0x400) at += 4;
            if (flags & 0x800) at += 4;
          }
        }
        if (!mdat) throw new Error("moof without mdat");
        const start = base / scale + this.timestampOffset;
        this.tracks.get(trackId)!.push({ start, end: start + duration / scale, bytes: size });
      }
      this.log.push(`media ${this.sequence[this.sequence.length - 1]}`);
    }
  }
}
