/**
 * Which way the microphone is recorded, and so what `start` announces as `audio_format`:
 * MediaRecorder webm/opus or ogg/opus where the browser makes them, else raw PCM16 from an
 * AudioWorklet (Safari/iOS record only mp4/aac, which the server's stream decoder does not take).
 */

import { PCM16_RATE } from "./pcm16";

export type CaptureFormat =
  | { kind: "recorder"; mimeType: string; format: "webm" | "ogg" }
  | { kind: "pcm16"; format: "pcm16"; sampleRate: number };

const RECORDER_TYPES: [string, "webm" | "ogg"][] = [
  ["audio/webm;codecs=opus", "webm"],
  ["audio/webm", "webm"],
  ["audio/ogg;codecs=opus", "ogg"],
];

export interface CaptureSupport {
  /** MediaRecorder.isTypeSupported, undefined without MediaRecorder. */
  isTypeSupported?: (type: string) => boolean;
  /** AudioWorkletNode exists. */
  audioWorklet: boolean;
}

export function browserCaptureSupport(): CaptureSupport {
  const recorder = globalThis.MediaRecorder;
  return {
    isTypeSupported: recorder?.isTypeSupported ? (t) => recorder.isTypeSupported(t) : undefined,
    audioWorklet: typeof globalThis.AudioWorkletNode === "function",
  };
}

/** The capture to use, or null when this browser can record in none of the server's formats. */
export function chooseCaptureFormat(support: CaptureSupport = browserCaptureSupport()): CaptureFormat | null {
  if (support.isTypeSupported) {
    for (const [mimeType, format] of RECORDER_TYPES) if (support.isTypeSupported(mimeType)) return { kind: "recorder", mimeType, format };
  }
  if (support.audioWorklet) return { kind: "pcm16", format: "pcm16", sampleRate: PCM16_RATE };
  return null;
}

/** The `start` message's audio fields for a capture (webm when nothing can record: nothing is sent then). */
export function announcedFormat(capture: CaptureFormat | null): { audio_format: "webm" | "ogg" | "pcm16"; sample_rate?: number } {
  if (!capture) return { audio_format: "webm" };
  if (capture.kind === "pcm16") return { audio_format: "pcm16", sample_rate: capture.sampleRate };
  return { audio_format: capture.format };
}
