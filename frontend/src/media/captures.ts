/**
 * Recorders over the shared MicSource: MediaRecorder (webm/ogg, chunked every CHUNK_MS) and an
 * AudioWorklet that posts 16 kHz int16 PCM (pcm16.worklet.ts). Each start()..stop() is one stream.
 */

import type { CaptureFormat } from "./captureFormat";
import type { MicSource } from "./micSource";
import type { Recorder } from "./microphone";

export const CHUNK_MS = 200;

type OnChunk = (data: ArrayBuffer) => void;

export class MediaRecorderCapture implements Recorder {
  private recorder: MediaRecorder | null = null;
  private delivered: Promise<void> = Promise.resolve();

  constructor(private readonly mic: MicSource, private readonly mimeType: string, private readonly onChunk: OnChunk) {}

  async start(): Promise<void> {
    const stream = await this.mic.acquire();
    const recorder = new MediaRecorder(stream, { mimeType: this.mimeType, audioBitsPerSecond: 32000 });
    this.recorder = recorder;
    recorder.addEventListener("dataavailable", (event: BlobEvent) => {
      if (!event.data.size) return;
      const blob = event.data;
      this.delivered = this.delivered.then(async () => this.onChunk(await blob.arrayBuffer())).catch(() => undefined);
    });
    recorder.start(CHUNK_MS);
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
}

const loadedContexts = new WeakSet<BaseAudioContext>();

async function workletUrl(): Promise<string> {
  // bundled by Vite as its own module (the worklet cannot import from the page)
  return (await import("./pcm16.worklet.ts?worker&url")).default;
}

export class Pcm16Capture implements Recorder {
  private node: AudioWorkletNode | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private sink: GainNode | null = null;

  constructor(private readonly mic: MicSource, private readonly sampleRate: number, private readonly onChunk: OnChunk) {}

  async start(): Promise<void> {
    const stream = await this.mic.acquire();
    const ctx = this.mic.unlock();
    if (!ctx) throw Object.assign(new Error("no AudioContext"), { name: "unsupported" });
    if (!loadedContexts.has(ctx)) {
      await ctx.audioWorklet.addModule(await workletUrl());
      loadedContexts.add(ctx);
    }
    const node = new AudioWorkletNode(ctx, "pcm16-capture", { processorOptions: { rate: this.sampleRate } });
    node.port.onmessage = (event: MessageEvent) => {
      if (event.data instanceof ArrayBuffer) this.onChunk(event.data);
    };
    this.source = ctx.createMediaStreamSource(stream);
    this.sink = ctx.createGain();
    this.sink.gain.value = 0; // keeps the node pulled by the graph without playing the microphone back
    this.source.connect(node);
    node.connect(this.sink);
    this.sink.connect(ctx.destination);
    this.node = node;
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = null;
    if (!node) return;
    this.source?.disconnect();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500); // a suspended context never answers
      const previous = node.port.onmessage;
      node.port.onmessage = (event: MessageEvent) => {
        previous?.call(node.port, event);
        if ((event.data as { done?: boolean })?.done) {
          clearTimeout(timer);
          resolve();
        }
      };
      node.port.postMessage("flush");
    });
    node.disconnect();
    this.sink?.disconnect();
    this.source = null;
    this.sink = null;
  }
}

/** The Recorder for a capture format. */
export function createCapture(format: CaptureFormat, mic: MicSource, onChunk: OnChunk): Recorder {
  return format.kind === "pcm16" ? new Pcm16Capture(mic, format.sampleRate, onChunk) : new MediaRecorderCapture(mic, format.mimeType, onChunk);
}
