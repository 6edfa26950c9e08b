/**
 * AudioWorklet module "pcm16-capture": the microphone's first channel downsampled to 16 kHz int16
 * (Pcm16Downsampler), posted to the main thread as ArrayBuffers of ~100 ms. A "flush" message posts
 * what is left and then `{ done: true }`.
 */

import { PCM16_RATE, Pcm16Downsampler } from "./pcm16";

declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}
declare function registerProcessor(name: string, ctor: new (options: { processorOptions?: { rate?: number } }) => AudioWorkletProcessor): void;

class Pcm16Capture extends AudioWorkletProcessor {
  private readonly downsampler: Pcm16Downsampler;

  constructor(options: { processorOptions?: { rate?: number } }) {
    super(options);
    this.downsampler = new Pcm16Downsampler(sampleRate, options.processorOptions?.rate ?? PCM16_RATE);
    this.port.onmessage = (event: MessageEvent) => {
      if (event.data !== "flush") return;
      const rest = this.downsampler.flush();
      if (rest) this.port.postMessage(rest.buffer, [rest.buffer]);
      this.port.postMessage({ done: true });
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel) for (const chunk of this.downsampler.push(channel)) this.port.postMessage(chunk.buffer, [chunk.buffer]);
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
