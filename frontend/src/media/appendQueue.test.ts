import { describe, expect, it } from "vitest";
import { loadStreamFixture, segmentPayload } from "../realtime/testing/conversationServer";
import type { MediaEvent } from "../realtime/protocol";
import { AppendQueue, type QueueOp } from "./appendQueue";
import { rangesOf } from "./sourceBuffer";
import { Mp4SourceBuffer } from "./testing/Mp4SourceBuffer";
import { StreamTimeline } from "./timeline";

const fixture = loadStreamFixture();
const events = (): MediaEvent[] => fixture.segments.map((s) => segmentPayload(s, fixture.mime) as unknown as MediaEvent);

function settled(queue: AppendQueue, buffer: Mp4SourceBuffer): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (queue.pending === 0 && !buffer.updating ? resolve() : setTimeout(check, 2));
    check();
  });
}

function feed(timeline: StreamTimeline, queue: AppendQueue, list: MediaEvent[]) {
  for (const e of list) for (const op of e.kind === "init" ? timeline.init(e) : timeline.segment(e)) queue.push(op);
}

describe("AppendQueue on a SourceBuffer", () => {
  it("appends init then every segment strictly in order, one operation at a time", async () => {
    const buffer = new Mp4SourceBuffer(fixture.mime);
    const errors: string[] = [];
    const queue = new AppendQueue({ onError: (m) => errors.push(m) });
    queue.attach(buffer);
    const timeline = new StreamTimeline();
    feed(timeline, queue, events()); // all at once: appendBuffer while updating would throw
    await settled(queue, buffer);
    expect(errors).toEqual([]);
    expect(buffer.log[0]).toBe("init");
    expect(buffer.sequence).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const ranges = rangesOf(buffer.buffered);
    expect(ranges).toHaveLength(1); // one continuous timeline: idle and speech join without gaps
    expect(ranges[0][0]).toBeLessThan(0.1);
    // video reaches 1.2 s; the audio of a live stream trails by the AAC encoder's look-ahead
    expect(ranges[0][1]).toBeGreaterThan(1.0);
    expect(timeline.end).toBeCloseTo(1.2, 3);
  });

  it("holds operations until a buffer is attached", async () => {
    const queue = new AppendQueue();
    const timeline = new StreamTimeline();
    feed(timeline, queue, events().slice(0, 3));
    expect(queue.pending).toBe(3);
    const buffer = new Mp4SourceBuffer(fixture.mime);
    queue.attach(buffer);
    await settled(queue, buffer);
    expect(buffer.sequence).toEqual([1, 2]);
  });

  it("runs removals in order with appends (trimming old media)", async () => {
    const buffer = new Mp4SourceBuffer(fixture.mime);
    const done: QueueOp["op"][] = [];
    const queue = new AppendQueue({ onUpdated: (op) => done.push(op.op) });
    queue.attach(buffer);
    const timeline = new StreamTimeline();
    const list = events();
    feed(timeline, queue, list.slice(0, 6));
    queue.push({ op: "remove", start: 0, end: 0.36 });
    feed(timeline, queue, list.slice(6));
    await settled(queue, buffer);
    expect(done).toEqual(["append", "append", "append", "append", "append", "append", "remove", "append", "append", "append", "append", "append"]);
    const ranges = rangesOf(buffer.buffered);
    expect(ranges[0][0]).toBeCloseTo(0.36, 2);
    expect(ranges[ranges.length - 1][1]).toBeGreaterThan(1.0);
  });

  it("frees room when the buffer is full and retries the append", async () => {
    const list = events();
    const total = list.reduce((n, e) => n + (e.data as Uint8Array).byteLength, 0);
    const buffer = new Mp4SourceBuffer(fixture.mime, total * 0.6);
    const errors: string[] = [];
    let quota = 0;
    const queue = new AppendQueue({
      onError: (m) => errors.push(m),
      onQuotaExceeded: () => {
        quota++;
        return [0, rangesOf(buffer.buffered)[0][0] + 0.48];
      },
    });
    queue.attach(buffer);
    feed(new StreamTimeline(), queue, list);
    await settled(queue, buffer);
    expect(quota).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(buffer.sequence).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("reports a media segment the buffer cannot take (no init yet) and carries on", async () => {
    const buffer = new Mp4SourceBuffer(fixture.mime);
    const errors: string[] = [];
    const queue = new AppendQueue({ onError: (m) => errors.push(m) });
    queue.attach(buffer);
    const [init, first, second] = events();
    queue.push({ op: "append", data: first.data as Uint8Array });
    queue.push({ op: "append", data: init.data as Uint8Array });
    queue.push({ op: "append", data: second.data as Uint8Array });
    await settled(queue, buffer);
    expect(errors).toEqual(["SourceBuffer error"]);
    expect(buffer.sequence).toEqual([2]);
  });
});

describe("StreamTimeline", () => {
  it("places a new stream (reconnect) after what is buffered, so playback never jumps back", async () => {
    const buffer = new Mp4SourceBuffer(fixture.mime);
    const queue = new AppendQueue();
    queue.attach(buffer);
    const timeline = new StreamTimeline();
    feed(timeline, queue, events());
    await settled(queue, buffer);
    const [[, end]] = rangesOf(buffer.buffered);
    // the server's new live session starts its timeline at 0 again, with a new init
    const [init, ...rest] = events();
    for (const op of timeline.init(init, end)) queue.push(op);
    feed(timeline, queue, rest);
    await settled(queue, buffer);
    expect(timeline.offset).toBeCloseTo(end, 3);
    expect(buffer.timestampOffset).toBeCloseTo(end, 3);
    const ranges = rangesOf(buffer.buffered);
    expect(ranges).toHaveLength(1); // continuous: no gap, no overlap going back
    expect(ranges[0][1]).toBeGreaterThan(end + 1.0);
    expect(timeline.toBuffer(0.48)).toBeCloseTo(end + 0.48, 3);
    const speech = timeline.segments.filter((s) => s.kind === "speech").map((s) => s.start);
    expect(speech.slice(3).map((t) => (t - end).toFixed(2))).toEqual(["0.36", "0.48", "0.60"]);
  });

  it("switches the buffer's type when a new stream has another codec", () => {
    const timeline = new StreamTimeline();
    const [init, first] = events();
    timeline.init(init);
    timeline.segment(first);
    const ops = timeline.init({ ...init, mime: 'video/mp4; codecs="avc1.640028, mp4a.40.2"' });
    expect(ops.map((o) => o.op)).toEqual(["changeType", "offset", "append"]);
  });

  it("ignores segments before the stream's init and repeats, and knows where speech is", () => {
    const timeline = new StreamTimeline();
    const list = events();
    expect(timeline.segment(list[1])).toEqual([]);
    timeline.init(list[0]);
    for (const e of list.slice(1)) timeline.segment(e);
    expect(timeline.segment(list[3])).toEqual([]);
    expect(timeline.kindAt(0.1)).toBe("idle");
    expect(timeline.kindAt(0.5)).toBe("speech");
    expect(timeline.speechBetween(0, 0.36)).toBe(false);
    expect(timeline.speechBetween(0.2, 0.4)).toBe(true);
    expect(timeline.speechBetween(0.72, 1.2)).toBe(false);
    timeline.forget(0.5);
    expect(timeline.segments[0].start).toBeCloseTo(0.48, 3);
  });
});
