/**
 * The page's microphone: one MediaStream shared by the level meter and the recorder, opened on
 * demand and released (tracks stopped, the browser's indicator off) after a few idle seconds; the
 * next press opens it again (the browser remembers the permission). Also owns the AudioContext,
 * which must be created or resumed inside a user gesture (unlock()).
 */

import { getMicId } from "../settings/mic";
import { levelFromSamples } from "./microphone";

export const IDLE_RELEASE_MS = 4000;

type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

export interface MicSourceOptions {
  getUserMedia?: GetUserMedia;
  createContext?: () => AudioContext | null;
  deviceId?: () => string | null;
  idleMs?: number;
  meterMs?: number;
}

function defaultContext(): AudioContext | null {
  const Ctx = globalThis.AudioContext ?? (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  return Ctx ? new Ctx() : null;
}

export class MicSource {
  private stream: MediaStream | null = null;
  private opening: Promise<MediaStream> | null = null;
  private releaseTimer: ReturnType<typeof setTimeout> | null = null;
  private ctx: AudioContext | null = null;
  private meterSource: MediaStreamAudioSourceNode | null = null;
  private meterTimer: ReturnType<typeof setInterval> | null = null;
  private readonly levelListeners = new Set<(level: number) => void>();
  /** Bumped by close(): a getUserMedia that resolves after it is stopped at once. */
  private generation = 0;

  constructor(private readonly options: MicSourceOptions = {}) {}

  get isOpen(): boolean {
    return this.stream !== null;
  }

  get context(): AudioContext | null {
    return this.ctx;
  }

  /** Create/resume the AudioContext; call synchronously inside a click or key press. */
  unlock(): AudioContext | null {
    if (!this.ctx) this.ctx = (this.options.createContext ?? defaultContext)();
    if (this.ctx && this.ctx.state !== "running") void this.ctx.resume().catch(() => undefined);
    return this.ctx;
  }

  /** The open stream, opening it if needed (cancels a pending idle release). */
  acquire(): Promise<MediaStream> {
    this.cancelRelease();
    if (this.stream) return Promise.resolve(this.stream);
    if (this.opening) return this.opening;
    const opening = this.open().finally(() => {
      if (this.opening === opening) this.opening = null;
    });
    this.opening = opening;
    return opening;
  }

  /** Release the stream after `ms` unless it is acquired again meanwhile. */
  releaseLater(ms = this.options.idleMs ?? IDLE_RELEASE_MS): void {
    this.cancelRelease();
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      this.release();
    }, ms);
  }

  release(): void {
    this.cancelRelease();
    this.stopMeter();
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
  }

  /** Follow the microphone's level (0..1, every ~80 ms while open; 0 when it closes). */
  onLevel(listener: (level: number) => void): () => void {
    this.levelListeners.add(listener);
    this.startMeter();
    return () => {
      this.levelListeners.delete(listener);
      if (!this.levelListeners.size) this.stopMeter();
    };
  }

  /** Release the microphone and the AudioContext (a later acquire/unlock opens new ones). */
  close(): void {
    this.generation++;
    this.opening = null;
    this.release();
    void this.ctx?.close().catch(() => undefined);
    this.ctx = null;
  }

  private cancelRelease(): void {
    if (this.releaseTimer != null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
  }

  private async open(): Promise<MediaStream> {
    const generation = this.generation;
    const getUserMedia: GetUserMedia | undefined =
      this.options.getUserMedia ?? (navigator.mediaDevices?.getUserMedia ? (c) => navigator.mediaDevices.getUserMedia(c) : undefined);
    if (!getUserMedia) throw Object.assign(new Error("no getUserMedia"), { name: "unsupported" });
    const deviceId = (this.options.deviceId ?? getMicId)();
    const audio: MediaTrackConstraints = {
      channelCount: 1,
      echoCancellation: true, // the avatar's own voice must not trigger barge-in
      noiseSuppression: true,
      autoGainControl: true,
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    };
    let stream: MediaStream;
    try {
      stream = await getUserMedia({ audio });
    } catch (error) {
      if (!deviceId || (error as Error).name !== "OverconstrainedError") throw error;
      stream = await getUserMedia({ audio: { ...audio, deviceId: undefined } });
    }
    if (generation !== this.generation) {
      stream.getTracks().forEach((track) => track.stop());
      throw Object.assign(new Error("closed"), { name: "AbortError" });
    }
    this.stream = stream;
    this.startMeter();
    return stream;
  }

  private startMeter(): void {
    if (!this.stream || !this.levelListeners.size || this.meterTimer) return;
    const ctx = this.unlock();
    if (!ctx) return;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    this.meterSource = ctx.createMediaStreamSource(this.stream);
    this.meterSource.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      const level = levelFromSamples(samples);
      this.levelListeners.forEach((listener) => listener(level));
    }, this.options.meterMs ?? 80);
  }

  private stopMeter(): void {
    if (this.meterTimer) clearInterval(this.meterTimer);
    this.meterTimer = null;
    this.meterSource?.disconnect();
    this.meterSource = null;
    this.levelListeners.forEach((listener) => listener(0));
  }
}
