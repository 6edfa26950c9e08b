/**
 * Recording turns: RecordingControl serialises push-to-talk / hands-free requests over a Recorder
 * (captures.ts) and holds back a recording's first chunks until it is long enough to be a question,
 * so a stray tap never sends an empty turn. Plus the level scale and Russian error texts.
 *
 * Each recording (start() .. stop()) is one continuous stream: the server decodes it with one
 * StreamDecoder and resets the decoder on `audio_end`, so a new recording must begin after the
 * previous one's `audio_end` (RecordingControl serialises that).
 */

/** Recordings shorter than this (ms) are dropped without a turn. */
export const MIN_RECORDING_MS = 400;

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
  if (name === "unsupported") return "Браузер не умеет записывать звук. Используйте Chrome, Edge, Firefox или Safari.";
  return "Не удалось включить микрофон.";
}

/** What RecordingControl drives: one recorder that records one stream per start/stop. */
export interface Recorder {
  start(): Promise<void>;
  /** Resolves after the last chunk of the recording was delivered. */
  stop(): Promise<void>;
}

export interface RecordingControlOptions<C = ArrayBuffer> {
  /** Sends one chunk of the current recording. */
  send?: (chunk: C) => void;
  /** Sends the end marker after a recording that was sent. */
  end: () => void;
  onError?: (error: unknown) => void;
  /** Chunks are held until the recording lasts this long; shorter recordings send nothing (default 0). */
  minMs?: number;
  now?: () => number;
}

/**
 * Push-to-talk and hands-free on top of a Recorder: requests are applied one after another, so a
 * release always sends the whole recording and `audio_end` before the next press starts a new stream.
 */
export class RecordingControl<C = ArrayBuffer> {
  private chain: Promise<void> = Promise.resolve();
  private wanted = false;
  private active = false;
  private startedAt = 0;
  private held: C[] = [];
  private flowing = false;
  private readonly options: RecordingControlOptions<C>;

  constructor(private readonly recorder: Recorder, options: RecordingControlOptions<C> | (() => void), onError?: (error: unknown) => void) {
    this.options = typeof options === "function" ? { end: options, onError } : options;
  }

  get recording(): boolean {
    return this.wanted;
  }

  /** A chunk from the recorder (sent at once, or held while the recording is still too short). */
  chunk(data: C): void {
    if (!this.active) return;
    if (this.flowing) {
      this.options.send?.(data);
      return;
    }
    this.held.push(data);
    if (this.elapsed() >= (this.options.minMs ?? 0)) this.flush();
  }

  press(): Promise<void> {
    this.wanted = true;
    return this.enqueue(async () => {
      if (this.active || !this.wanted) return;
      await this.begin();
    });
  }

  /**
   * Stop recording and send its end; `sendEnd` false drops the end marker (the connection that
   * heard the start is gone). A recording shorter than `minMs` is dropped: nothing was sent.
   */
  release(sendEnd = true): Promise<void> {
    this.wanted = false;
    return this.enqueue(async () => {
      if (!this.active) return;
      await this.finish(sendEnd, true);
    });
  }

  /** Stop without sending what is held; a recording already streaming still gets its end (the server's decoder needs it). */
  cancel(): Promise<void> {
    this.wanted = false;
    return this.enqueue(async () => {
      if (!this.active) return;
      await this.finish(true, false);
    });
  }

  /** Begin a fresh stream (after a reconnect: the new server session needs a new stream header). */
  restart(): Promise<void> {
    if (!this.wanted) return this.chain;
    return this.enqueue(async () => {
      if (this.active) {
        this.active = false;
        await this.recorder.stop();
      }
      if (!this.wanted) return;
      await this.begin();
    });
  }

  private async begin(): Promise<void> {
    this.held = [];
    this.flowing = false;
    this.startedAt = this.now();
    this.active = true;
    try {
      await this.recorder.start();
    } catch (error) {
      this.active = false;
      throw error;
    }
    this.startedAt = this.now(); // the recording starts once the microphone is open
  }

  private async finish(sendEnd: boolean, sendHeld: boolean): Promise<void> {
    await this.recorder.stop();
    if (!this.flowing && sendHeld && this.held.length && this.elapsed() >= (this.options.minMs ?? 0)) this.flush();
    this.active = false;
    this.held = [];
    if (this.flowing && sendEnd) this.options.end();
    this.flowing = false;
  }

  private flush(): void {
    this.flowing = true;
    const held = this.held;
    this.held = [];
    held.forEach((chunk) => this.options.send?.(chunk));
  }

  private elapsed(): number {
    return this.now() - this.startedAt;
  }

  private now(): number {
    return (this.options.now ?? (() => performance.now()))();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((error) => {
      this.wanted = false;
      this.active = false;
      this.options.onError?.(error);
    });
    return this.chain;
  }
}
