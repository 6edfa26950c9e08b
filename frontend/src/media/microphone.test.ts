import { describe, expect, it } from "vitest";
import { RecordingControl, levelFromSamples, microphoneErrorMessage, type Recorder } from "./microphone";

/**
 * A Recorder like MediaRecorder: start() begins a stream whose first chunk carries the header,
 * chunks arrive on a timer, stop() delivers the last chunk before it resolves.
 */
class TimedRecorder implements Recorder {
  readonly log: string[] = [];
  private stream = 0;
  private chunk = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly send: (name: string) => void) {}

  async start(): Promise<void> {
    await new Promise((r) => setTimeout(r, 3)); // getUserMedia / MediaRecorder start is async
    this.stream++;
    this.chunk = 0;
    this.timer = setInterval(() => this.emit(), 2);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await new Promise((r) => setTimeout(r, 3));
    this.emit(); // the final dataavailable comes before "stop"
  }

  private emit(): void {
    this.send(`s${this.stream}:${this.chunk++ === 0 ? "header" : "data"}`);
  }
}

/** A control whose recorder's chunks go through control.chunk() to `sent`. */
function controlOf(sent: string[], minMs = 0, now?: () => number) {
  let control: RecordingControl<string> | null = null;
  const recorder = new TimedRecorder((c) => control?.chunk(c));
  control = new RecordingControl<string>(recorder, { send: (c) => sent.push(c), end: () => sent.push("audio_end"), minMs, now });
  return control;
}

describe("RecordingControl", () => {
  it("push-to-talk: a release sends the whole recording, then audio_end, before the next press starts", async () => {
    const sent: string[] = [];
    const control = controlOf(sent);
    void control.press();
    await new Promise((r) => setTimeout(r, 15));
    void control.release();
    void control.press(); // pressed again right away
    await new Promise((r) => setTimeout(r, 15));
    await control.release();
    const ends = sent.flatMap((c, i) => (c === "audio_end" ? [i] : []));
    expect(ends).toHaveLength(2);
    const firstStream = sent.slice(0, ends[0]);
    expect(firstStream[0]).toBe("s1:header");
    expect(firstStream.every((c) => c.startsWith("s1:"))).toBe(true);
    const second = sent.slice(ends[0] + 1, ends[1]);
    expect(second[0]).toBe("s2:header"); // a new webm stream after the server reset its decoder
    expect(second.every((c) => c.startsWith("s2:"))).toBe(true);
    expect(sent[sent.length - 1]).toBe("audio_end");
  });

  it("a release without a recording sends nothing; a press held while the microphone opens still ends", async () => {
    const sent: string[] = [];
    const control = controlOf(sent);
    await control.release();
    void control.press();
    await control.release(); // released before the press was applied: nothing to record
    expect(sent).toEqual([]);
    void control.press();
    await new Promise((r) => setTimeout(r, 1)); // released while start() is still opening the microphone
    await control.release();
    expect(sent[0]).toBe("s1:header");
    expect(sent[sent.length - 1]).toBe("audio_end");
  });

  it("restart begins a new stream without audio_end (a new server session) and only when recording", async () => {
    const sent: string[] = [];
    const control = controlOf(sent);
    await control.restart();
    expect(sent).toEqual([]);
    await control.press();
    await new Promise((r) => setTimeout(r, 8));
    await control.restart();
    await new Promise((r) => setTimeout(r, 8));
    await control.release(false);
    expect(sent).not.toContain("audio_end");
    expect(sent.filter((c) => c.endsWith("header"))).toEqual(["s1:header", "s2:header"]);
    expect(control.recording).toBe(false);
  });

  it("a recording shorter than minMs sends nothing, not even audio_end; a longer one is sent whole", async () => {
    const sent: string[] = [];
    let clock = 0;
    const control = controlOf(sent, 400, () => clock);
    await control.press();
    await new Promise((r) => setTimeout(r, 10));
    clock = 150;
    await control.release();
    expect(sent).toEqual([]);
    clock = 1000;
    await control.press();
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toEqual([]); // held while shorter than 400 ms
    clock = 1500;
    await new Promise((r) => setTimeout(r, 6));
    expect(sent[0]).toBe("s2:header"); // then the held chunks go out in order and the rest streams
    await control.release();
    expect(sent[sent.length - 1]).toBe("audio_end");
    expect(sent.filter((c) => c === "audio_end")).toHaveLength(1);
  });

  it("cancel drops a recording that was still held", async () => {
    const sent: string[] = [];
    const clock = 0;
    const control = controlOf(sent, 400, () => clock);
    await control.press();
    await new Promise((r) => setTimeout(r, 10));
    await control.cancel();
    expect(sent).toEqual([]);
    expect(control.recording).toBe(false);
  });

  it("reports a failing microphone and stops", async () => {
    const errors: unknown[] = [];
    const failing: Recorder = {
      start: () => Promise.reject(Object.assign(new Error("denied"), { name: "NotAllowedError" })),
      stop: () => Promise.resolve(),
    };
    const control = new RecordingControl(failing, () => undefined, (e) => errors.push(e));
    await control.press();
    expect(control.recording).toBe(false);
    expect(microphoneErrorMessage(errors[0])).toContain("Нет доступа к микрофону");
  });
});

describe("microphone helpers", () => {
  it("measures the level on a dBFS scale", () => {
    expect(levelFromSamples(new Float32Array(512))).toBe(0);
    const loud = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i / 5));
    expect(levelFromSamples(loud)).toBeGreaterThan(0.9);
    const quiet = loud.map((v) => v * 0.01);
    expect(levelFromSamples(quiet)).toBeGreaterThan(0.2);
    expect(levelFromSamples(quiet)).toBeLessThan(0.4);
  });

  it("explains microphone failures in Russian", () => {
    expect(microphoneErrorMessage({ name: "NotFoundError" })).toBe("Микрофон не найден. Подключите его или выберите другой в настройках.");
    expect(microphoneErrorMessage({ name: "NotReadableError" })).toContain("занят");
    expect(microphoneErrorMessage(new Error("x"))).toBe("Не удалось включить микрофон.");
  });
});
