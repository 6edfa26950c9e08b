/**
 * The "/conversation" Socket.IO namespace as the server speaks it
 * (backend/realtime/protocol.py, live.py, avatar_stream.segment_event).
 */

export const NAMESPACE = "/conversation";

/** Client -> server `start`. */
export interface StartMessage {
  persona_id?: number;
  session_id?: number;
  avatar_id?: string;
  audio_format: "webm" | "ogg" | "pcm16";
  sample_rate?: number;
  greet?: boolean;
}

export interface ReadyEvent {
  persona_id: number;
  session_id: number;
  avatar_id: string;
  greeting: string;
  warnings: string[];
  /** MediaSource type of the avatar stream, e.g. `video/mp4; codecs="avc1.42C01E, mp4a.40.2"`. */
  mime: string;
}

/** Binary payloads arrive as ArrayBuffer in browsers and as Buffer (a Uint8Array) in Node. */
export type Binary = ArrayBuffer | ArrayBufferView;

/** `init` (kind "init", t 0) and `segment` (kind "idle" | "speech"): one fMP4 piece on the stream's timeline. */
export interface MediaEvent {
  data: Binary;
  mime: string;
  kind: "init" | "idle" | "speech";
  /** The turn the speech belongs to (0 for idle and init). */
  turn: number;
  /** Start of the segment on the stream's timeline, seconds (tfdt of its first frame). */
  t: number;
  duration: number;
  index: number;
}

export interface ProgressEvent {
  stage: string;
  value: number;
  message: string;
}

export interface TranscriptEvent {
  text: string;
  final: boolean;
  language?: string;
  audio_duration_s?: number;
  processing_s?: number;
}

export interface ReplyEvent {
  turn: number;
  index: number;
  text: string;
  emotion: string;
}

/** StageTimer.as_dict(): `<stage>_s` seconds and `<milestone>_s` since the turn started. */
export type Timings = Record<string, number>;

export interface TimingsEvent extends Timings {
  turn: number;
}

export interface TurnEndEvent {
  turn: number;
  reason: "done" | "error" | string;
  timings: Timings;
}

export interface InterruptedEvent {
  turn: number;
  reason: string;
  /** Where the stream's timeline stood: idle video continues from here. */
  media_time: number;
}

export interface ErrorEvent {
  code: string;
  message: string;
  detail?: string;
  /** `busy` and `rate_limited`: seconds until trying again makes sense. */
  retry_after_s?: number;
}

export function toBytes(data: Binary): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
