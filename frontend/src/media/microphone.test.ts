import { describe, expect, it } from "vitest";
import { RecordingControl, levelFromSamples, microphoneErrorMessage, pickRecorderType, type Recorder } from "./microphone";

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

describe("RecordingControl", () => {
  it("push-to-talk: a release sends the whole recording, then audio_end, before the next press starts", async () => {
    const sent: string[] = [];
    const recorder = new TimedRecorder((c) => sent.push(c));
    const control = new RecordingControl(recorder, () => sent.push("audio_end"));
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
    const control = new RecordingControl(new TimedRecorder((c) => sent.push(c)), () => sent.push("audio_end"));
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
    const control = new RecordingControl(new TimedRecorder((c) => sent.push(c)), () => sent.push("audio_end"));
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
  it("picks webm/opus first and says which audio_format the server gets", () => {
    expect(pickRecorderType((t) => t.startsWith("audio/webm"))).toEqual({ mimeType: "audio/webm;codecs=opus", format: "webm" });
    expect(pickRecorderType((t) => t === "audio/ogg;codecs=opus")).toEqual({ mimeType: "audio/ogg;codecs=opus", format: "ogg" });
    expect(pickRecorderType(() => false)).toBeNull();
    expect(pickRecorderType(undefined)).toBeNull();
  });

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
