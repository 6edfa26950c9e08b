/**
 * Microphone capture for the conversation: getUserMedia + MediaRecorder (webm/opus), chunks sent in
 * order as they are recorded, and a level meter.
 *
 * Each recording (start() .. stop()) is one continuous webm stream: the server decodes it with one
 * StreamDecoder and resets the decoder on `audio_end`, so a new recording must begin after the
 * previous one's `audio_end` (RecordingControl serialises that).
 */

import { getMicId } from "../settings/mic";

export const CHUNK_MS = 200;

export type AudioFormat = "webm" | "ogg";

const CANDIDATES: [string, AudioFormat][] = [
  ["audio/webm;codecs=opus", "webm"],
  ["audio/webm", "webm"],
  ["audio/ogg;codecs=opus", "ogg"],
];

/** The recorder type to use and the `audio_format` to announce in `start`, or null if none works. */
export function pickRecorderType(
  isTypeSupported: ((type: string) => boolean) | undefined = globalThis.MediaRecorder?.isTypeSupported?.bind(
    globalThis.MediaRecorder,
  ),
): { mimeType: string; format: AudioFormat } | null {
  if (!isTypeSupported) return null;
  for (const [mimeType, format] of CANDIDATES) if (isTypeSupported(mimeType)) return { mimeType, format };
  return null;
}

/** 0..1 from time-domain samples in -1..1 (RMS on a -60..0 dBFS scale). */
export function levelFromSamples(samples: ArrayLike<number>): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 1e-6) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

/** Russian text for a getUserMedia / MediaRecorder failure. */
export function microphoneErrorMessage(error: unknown): string {
  const name = (error as { name?: string })?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Нет доступа к микрофону. Разрешите его в настройках браузера (значок замка в адресной строке).";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "Микрофон не найден. Подключите его или выберите другой в настройках.";
  }
  if (name === "NotReadableError") return "Микрофон занят другой программой.";
  if (name === "unsupported") return "Браузер не умеет записывать звук (MediaRecorder). Используйте Chrome, Edge или Firefox.";
  return "Не удалось включить микрофон.";
}

/** What RecordingControl drives: one recorder that records one stream per start/stop. */
export interface Recorder {
  start(): Promise<void>;
  /** Resolves after the last chunk of the recording was delivered. */
  stop(): Promise<void>;
}

/**
 * Push-to-talk and hands-free on top of a Recorder: requests are applied one after another, so a
 * release always sends the whole recording and `audio_end` before the next press starts a new stream.
 */
export class RecordingControl {
  private chain: Promise<void> = Promise.resolve();
  private wanted = false;
  private active = false;

  constructor(
    private readonly recorder: Recorder,
    private readonly onEnd: () => void,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  get recording(): boolean {
    return this.wanted;
  }

  press(): Promise<void> {
    this.wanted = true;
    return this.enqueue(async () => {
      if (this.active || !this.wanted) return;
      await this.recorder.start();
      this.active = true;
    });
  }

  /** Stop recording; `sendEnd` false drops the end marker (the connection that heard the start is gone). */
  release(sendEnd = true): Promise<void> {
    this.wanted = false;
    return this.enqueue(async () => {
      if (!this.active) return;
      this.active = false;
      await this.recorder.stop();
      if (sendEnd) this.onEnd();
    });
  }

  /** Begin a fresh stream (after a reconnect: the new server session needs a new webm header). */
  restart(): Promise<void> {
    if (!this.wanted) return this.chain;
    return this.enqueue(async () => {
      if (this.active) {
        this.active = false;
        await this.recorder.stop();
      }
      if (!this.wanted) return;
      await this.recorder.start();
      this.active = true;
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((error) => {
      this.wanted = false;
      this.active = false;
      this.onError(error);
    });
    return this.chain;
  }
}

export interface MicrophoneOptions {
  onChunk: (data: ArrayBuffer) => void;
  onLevel?: (level: number) => void;
  deviceId?: string | null;
  chunkMs?: number;
}

/** The browser's microphone as a Recorder. */
export class BrowserMicrophone implements Recorder {
  private stream: MediaStream | null = null;
  private recorder: MediaRecorder | null = null;
  private delivered: Promise<void> = Promise.resolve();
  private audioContext: AudioContext | null = null;
  private meter: ReturnType<typeof setInterval> | null = null;
  readonly type = pickRecorderType();

  constructor(private readonly options: MicrophoneOptions) {}

  async open(): Promise<void> {
    if (this.stream) return;
    if (!navigator.mediaDevices?.getUserMedia || !this.type) throw Object.assign(new Error("unsupported"), { name: "unsupported" });
    const deviceId = this.options.deviceId ?? getMicId();
    const audio: MediaTrackConstraints = {
      channelCount: 1,
      echoCancellation: true, // the avatar's own voice must not trigger barge-in
      noiseSuppression: true,
      autoGainControl: true,
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio });
    } catch (error) {
      if (!deviceId || (error as Error).name !== "OverconstrainedError") throw error;
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: { ...audio, deviceId: undefined } });
    }
    this.startMeter(this.stream);
  }

  async start(): Promise<void> {
    await this.open();
    const recorder = new MediaRecorder(this.stream!, { mimeType: this.type!.mimeType, audioBitsPerSecond: 32000 });
    this.recorder = recorder;
    recorder.addEventListener("dataavailable", (event: BlobEvent) => {
      if (!event.data.size) return;
      const blob = event.data;
      this.delivered = this.delivered
        .then(async () => this.options.onChunk(await blob.arrayBuffer()))
        .catch(() => undefined);
    });
    recorder.start(this.options.chunkMs ?? CHUNK_MS);
  }

  async stop(): Promise<void> {
    const recorder = this.recorder;
    this.recorder = null;
    if (!recorder || recorder.state === "inactive") return this.delivered;
    await new Promise<void>((resolve) => {
      recorder.addEventListener("stop", () => resolve(), { once: true });
      recorder.stop();
    });
    await this.delivered;
  }

  close(): void {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    this.recorder = null;
    if (this.meter) clearInterval(this.meter);
    this.meter = null;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    void this.audioContext?.close().catch(() => undefined);
    this.audioContext = null;
  }

  private startMeter(stream: MediaStream): void {
    const onLevel = this.options.onLevel;
    const Ctx = globalThis.AudioContext ?? (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!onLevel || !Ctx) return;
    const context = new Ctx();
    this.audioContext = context;
    void context.resume().catch(() => undefined);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.meter = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      onLevel(levelFromSamples(samples));
    }, 80);
  }
}
