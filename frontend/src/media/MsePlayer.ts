/**
 * Live player of the avatar stream: one MediaSource, one SourceBuffer, fragmented MP4 appended in
 * order for as long as the screen is open (no `src` resets between turns, so there is always a
 * last frame to show). See StreamTimeline for where segments land and playbackPolicy for seeking.
 */

import { toBytes, type MediaEvent } from "../realtime/protocol";
import { AppendQueue } from "./appendQueue";
import { decidePlayback, defaultPolicy, trimRange, type PolicyOptions } from "./playbackPolicy";
import { rangesOf, type Range } from "./sourceBuffer";
import { StreamTimeline } from "./timeline";

type MediaSourceCtor = typeof MediaSource;

function mediaSourceClass(): MediaSourceCtor | null {
  const w = globalThis as unknown as { MediaSource?: MediaSourceCtor; ManagedMediaSource?: MediaSourceCtor };
  return w.MediaSource ?? w.ManagedMediaSource ?? null;
}

/** A Russian explanation when this browser cannot play `mime` through Media Source Extensions, else null. */
export function unsupportedReason(mime: string): string | null {
  const MS = mediaSourceClass();
  if (!MS) return "Браузер не поддерживает потоковое видео (Media Source Extensions). Откройте страницу в Chrome, Chromium, Edge или Firefox.";
  if (!MS.isTypeSupported(mime)) {
    return `Браузер не умеет воспроизводить видео аватара (${mime}). Откройте страницу в Chrome, Chromium, Edge или Firefox.`;
  }
  return null;
}

export interface MsePlayerState {
  error: string | null;
  /** Autoplay with sound was refused: the video plays muted until enableSound(). */
  soundBlocked: boolean;
  /** What is on screen now. */
  showing: "idle" | "speech" | null;
  waiting: boolean;
}

export interface MsePlayerOptions {
  policy?: Partial<PolicyOptions>;
  tickMs?: number;
  onState?: (state: MsePlayerState) => void;
  onLog?: (message: string) => void;
}

export class MsePlayer {
  readonly timeline = new StreamTimeline();
  private readonly policy: PolicyOptions;
  private readonly queue: AppendQueue;
  private mediaSource: MediaSource | null = null;
  private sourceBuffer: SourceBuffer | null = null;
  private objectUrl: string | null = null;
  private mime: string | null = null;
  private lastInit: MediaEvent | null = null;
  private skipTo: number | null = null;
  private interruptedTurn = 0;
  private recoveries: number[] = [];
  private lastSeekAt = -Infinity;
  private timer: ReturnType<typeof setInterval> | null = null;
  private playRequest: Promise<void> | null = null;
  private destroyed = false;
  private state: MsePlayerState = { error: null, soundBlocked: false, showing: null, waiting: false };
  private readonly onVideoError = () => this.recover();
  private readonly onWaiting = () => this.setState({ waiting: true });
  private readonly onPlaying = () => this.setState({ waiting: false });

  constructor(readonly video: HTMLVideoElement, private readonly options: MsePlayerOptions = {}) {
    this.policy = { ...defaultPolicy, ...options.policy };
    this.queue = new AppendQueue({
      onUpdated: () => this.tick(),
      onQuotaExceeded: () => {
        const cut = this.video.currentTime - 2;
        return cut > 0 ? [0, cut] : null;
      },
      onError: (message, error) => this.log(`${message}: ${String((error as Error)?.message ?? error ?? "")}`),
    });
    if (!mediaSourceClass()) {
      this.setState({ error: unsupportedReason("video/mp4") });
      return;
    }
    video.addEventListener("error", this.onVideoError);
    video.addEventListener("waiting", this.onWaiting);
    video.addEventListener("playing", this.onPlaying);
    this.openSource();
    this.timer = setInterval(() => this.tick(), options.tickMs ?? 250);
  }

  get currentTime(): number {
    return this.video.currentTime;
  }

  get readyState(): number {
    return this.video.readyState;
  }

  get buffered(): Range[] {
    return this.sourceBuffer ? rangesOf(this.sourceBuffer.buffered) : [];
  }

  get snapshot(): MsePlayerState {
    return this.state;
  }

  /** The stream's type, from `ready` (before its `init`). */
  setMime(mime: string): void {
    const reason = unsupportedReason(mime);
    if (reason) {
      this.setState({ error: reason });
      return;
    }
    if (!this.mime) this.mime = mime;
    this.createBuffer();
  }

  /** An `init` or `segment` event, in arrival order. */
  push(event: MediaEvent): void {
    if (this.destroyed || this.state.error) return;
    if (event.kind === "init") {
      if (!this.mime && event.mime) this.setMime(event.mime);
      this.lastInit = event;
      this.interruptedTurn = 0;
      this.skipTo = null;
      for (const op of this.timeline.init(event, this.settledEnd())) this.queue.push(op);
      return;
    }
    const ops = this.timeline.segment(event);
    const placed = this.timeline.segments[this.timeline.segments.length - 1];
    if (ops.length && event.kind === "speech" && event.turn <= this.interruptedTurn && placed) {
      // speech of the interrupted turn that was already on its way: skip it too
      this.skipTo = Math.max(this.skipTo ?? 0, placed.end);
    }
    for (const op of ops) this.queue.push(op);
  }

  /** The server dropped the turn's queued speech; idle continues at `mediaTime` of the stream. */
  interrupted(turn: number, mediaTime: number): void {
    this.interruptedTurn = Math.max(this.interruptedTurn, turn);
    if (mediaTime > 0) this.skipTo = Math.max(this.skipTo ?? 0, this.timeline.toBuffer(mediaTime));
    this.tick();
  }

  /** Where buffered media ends once every queued append is done (undefined while appends are pending). */
  private settledEnd(): number | undefined {
    if (!this.sourceBuffer || this.queue.pending || this.sourceBuffer.updating) return undefined;
    const ranges = this.buffered;
    return ranges.length ? ranges[ranges.length - 1][1] : undefined;
  }

  /**
   * Allow sound from now on: call synchronously inside a click (the lobby's «Начать разговор»), so
   * the browser's autoplay policy lets this element play unmuted even before any media arrived.
   */
  unlock(): void {
    if (this.destroyed || this.state.error) return;
    const video = this.video;
    video.muted = false;
    let request: Promise<void> | undefined;
    try {
      request = video.play();
    } catch {
      return; // an element that cannot play (no media support): nothing to unlock
    }
    if (this.state.soundBlocked) this.setState({ soundBlocked: false });
    request?.catch(() => undefined); // rejected when there is no media yet or a later load aborts it; tick() plays again
  }

  /** Unmute after autoplay with sound was refused (call from a click). */
  async enableSound(): Promise<void> {
    this.video.muted = false;
    try {
      await this.video.play();
      this.setState({ soundBlocked: false });
    } catch {
      this.video.muted = true;
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    this.queue.detach();
    this.video.removeEventListener("error", this.onVideoError);
    this.video.removeEventListener("waiting", this.onWaiting);
    this.video.removeEventListener("playing", this.onPlaying);
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
  }

  private openSource(): void {
    const MS = mediaSourceClass()!;
    const source = new MS();
    this.mediaSource = source;
    this.sourceBuffer = null;
    source.addEventListener("sourceopen", () => this.createBuffer(), { once: true });
    if ("ManagedMediaSource" in globalThis && MS !== (globalThis as { MediaSource?: unknown }).MediaSource) {
      this.video.disableRemotePlayback = true; // required by ManagedMediaSource (Safari)
    }
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = URL.createObjectURL(source);
    this.video.src = this.objectUrl;
  }

  private createBuffer(): void {
    const source = this.mediaSource;
    if (!source || source.readyState !== "open" || !this.mime || this.sourceBuffer) return;
    try {
      const buffer = source.addSourceBuffer(this.mime);
      buffer.mode = "segments";
      this.sourceBuffer = buffer;
      this.timeline.mime = this.timeline.mime ?? this.mime;
      this.queue.attach(buffer);
    } catch (error) {
      this.setState({ error: `Не удалось запустить видео аватара: ${(error as Error).message}` });
    }
  }

  /** The media element failed (e.g. a decode error): a new MediaSource continues from the stream's init. */
  private recover(): void {
    if (this.destroyed || !this.lastInit) return;
    const now = Date.now();
    this.recoveries = this.recoveries.filter((t) => now - t < 60_000);
    if (this.recoveries.length >= 3) {
      this.setState({ error: "Видео аватара не воспроизводится (ошибка декодирования). Обновите страницу." });
      return;
    }
    this.recoveries.push(now);
    this.log(`media error ${this.video.error?.code ?? ""}: ${this.video.error?.message ?? ""}; reopening`);
    this.queue.detach();
    this.queue.clear();
    this.mime = this.timeline.mime ?? this.mime;
    this.openSource();
    this.queue.push({ op: "offset", value: this.timeline.offset });
    this.queue.push({ op: "append", data: toBytes(this.lastInit.data), label: "init" });
  }

  private tick(): void {
    const buffer = this.sourceBuffer;
    if (this.destroyed || !buffer) return;
    let ranges: Range[];
    try {
      ranges = rangesOf(buffer.buffered);
    } catch {
      return; // the buffer was removed from its MediaSource (recovering)
    }
    if (!ranges.length) return;
    const video = this.video;
    const decision = decidePlayback(
      {
        currentTime: video.currentTime,
        ranges,
        skipTo: this.skipTo,
        speechBetween: (a, b) => this.timeline.speechBetween(a, b),
      },
      this.policy,
    );
    if (decision.skipDone) this.skipTo = null;
    const now = performance.now();
    const settling = decision.reason === "live-edge" && now - this.lastSeekAt < 500; // let the last seek land first
    if (decision.seek !== null && !video.seeking && !settling) {
      this.lastSeekAt = now;
      this.log(`seek ${video.currentTime.toFixed(2)} -> ${decision.seek.toFixed(2)} (${decision.reason})`);
      video.currentTime = decision.seek;
    }
    if (video.paused && !this.playRequest) this.play();
    if (!this.queue.busy && !buffer.updating) {
      const trim = trimRange(ranges, video.currentTime, this.policy);
      if (trim) {
        this.queue.push({ op: "remove", start: trim[0], end: trim[1] });
        this.timeline.forget(trim[1]);
      }
    }
    const showing = this.timeline.kindAt(video.currentTime);
    if (showing !== this.state.showing) this.setState({ showing });
  }

  private play(): void {
    const video = this.video;
    this.playRequest = video
      .play()
      .catch(async (error: Error) => {
        if (error?.name !== "NotAllowedError") return; // AbortError: a seek or a new load; the next tick retries
        video.muted = true;
        this.setState({ soundBlocked: true });
        await video.play().catch(() => undefined);
      })
      .finally(() => {
        this.playRequest = null;
      });
  }

  private setState(change: Partial<MsePlayerState>): void {
    this.state = { ...this.state, ...change };
    this.options.onState?.(this.state);
  }

  private log(message: string): void {
    this.options.onLog?.(message);
  }
}
