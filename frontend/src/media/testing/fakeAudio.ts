/**
 * Browser audio stand-ins for jsdom: an AudioContext whose analyser hears a steady tone, and
 * helpers that install MediaRecorder / AudioWorkletNode / getUserMedia as a given browser has them.
 */

import { vi } from "vitest";
import { FakeMicrophone } from "./fakeMic";

class FakeNode {
  connect() {}
  disconnect() {}
}

export class FakeAudioContext {
  state: "running" | "suspended" | "closed" = "suspended";
  sampleRate = 48000;
  static created = 0;
  constructor() {
    FakeAudioContext.created++;
  }
  resume() {
    this.state = "running";
    return Promise.resolve();
  }
  close() {
    this.state = "closed";
    return Promise.resolve();
  }
  createMediaStreamSource() {
    return new FakeNode();
  }
  createGain() {
    return Object.assign(new FakeNode(), { gain: { value: 1 } });
  }
  createAnalyser() {
    return Object.assign(new FakeNode(), {
      fftSize: 1024,
      getFloatTimeDomainData(out: Float32Array) {
        for (let i = 0; i < out.length; i++) out[i] = 0.3 * Math.sin(i / 4);
      },
    });
  }
}

export interface BrowserAudio {
  /** MediaRecorder types the browser records (none: Safari's mp4 only). */
  recorderTypes?: string[];
  audioWorklet?: boolean;
  /** getUserMedia refuses with this error name. */
  deny?: string;
}

/** Install the audio APIs of a browser; returns the fake microphone. Undo with vi.unstubAllGlobals(). */
export function installBrowserAudio({ recorderTypes = ["audio/webm;codecs=opus", "audio/webm"], audioWorklet = true, deny }: BrowserAudio = {}): FakeMicrophone {
  const mic = new FakeMicrophone();
  if (deny) mic.deny = deny;
  vi.stubGlobal("MediaRecorder", { isTypeSupported: (t: string) => recorderTypes.includes(t) });
  vi.stubGlobal("AudioWorkletNode", audioWorklet ? class {} : undefined);
  vi.stubGlobal("AudioContext", FakeAudioContext);
  Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: { getUserMedia: mic.getUserMedia } });
  return mic;
}

export function uninstallBrowserAudio(): void {
  vi.unstubAllGlobals();
  Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: undefined });
}
