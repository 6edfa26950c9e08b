import { describe, expect, it } from "vitest";
import { announcedFormat, chooseCaptureFormat } from "./captureFormat";

describe("chooseCaptureFormat", () => {
  it("prefers MediaRecorder webm/opus, then ogg/opus", () => {
    expect(chooseCaptureFormat({ isTypeSupported: (t) => t.startsWith("audio/webm"), audioWorklet: true })).toEqual({
      kind: "recorder",
      mimeType: "audio/webm;codecs=opus",
      format: "webm",
    });
    expect(chooseCaptureFormat({ isTypeSupported: (t) => t === "audio/ogg;codecs=opus", audioWorklet: true })).toMatchObject({ format: "ogg" });
  });

  it("falls back to PCM16 from an AudioWorklet where MediaRecorder makes only mp4 (Safari/iOS)", () => {
    const safari = chooseCaptureFormat({ isTypeSupported: (t) => t.startsWith("audio/mp4"), audioWorklet: true });
    expect(safari).toEqual({ kind: "pcm16", format: "pcm16", sampleRate: 16000 });
    expect(chooseCaptureFormat({ audioWorklet: true })).toMatchObject({ kind: "pcm16" });
    expect(chooseCaptureFormat({ audioWorklet: false })).toBeNull();
  });

  it("announces the real format in start, with the sample rate for pcm16", () => {
    expect(announcedFormat(chooseCaptureFormat({ isTypeSupported: () => false, audioWorklet: true }))).toEqual({ audio_format: "pcm16", sample_rate: 16000 });
    expect(announcedFormat(chooseCaptureFormat({ isTypeSupported: (t) => t === "audio/ogg;codecs=opus", audioWorklet: false }))).toEqual({ audio_format: "ogg" });
    expect(announcedFormat(chooseCaptureFormat({ isTypeSupported: () => true, audioWorklet: false }))).toEqual({ audio_format: "webm" });
  });
});
