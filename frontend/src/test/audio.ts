/**
 * A fake Audio element and object URLs for tests of sample playback (jsdom plays nothing and has no
 * URL.createObjectURL): `installFakeAudio()` in beforeEach, `restore()` in afterEach.
 */
import { vi } from "vitest";

export class FakeAudio {
  static instances: FakeAudio[] = [];
  src: string;
  paused = true;
  onended: (() => void) | null = null;
  onerror: (() => void) | null = null;
  play = vi.fn(async () => {
    this.paused = false;
  });
  pause = vi.fn(() => {
    this.paused = true;
  });

  constructor(src = "") {
    this.src = src;
    FakeAudio.instances.push(this);
  }

  /** The sample played to its end. */
  end(): void {
    this.paused = true;
    this.onended?.();
  }
}

export interface FakeAudioEnv {
  /** The blobs given to URL.createObjectURL, by URL. */
  blobs: Map<string, Blob>;
  /** URLs created and not revoked yet. */
  live: Set<string>;
  revoked: string[];
  restore(): void;
}

export function installFakeAudio(): FakeAudioEnv {
  FakeAudio.instances = [];
  const blobs = new Map<string, Blob>();
  const live = new Set<string>();
  const revoked: string[] = [];
  const saved = { create: URL.createObjectURL, revoke: URL.revokeObjectURL };
  let n = 0;
  URL.createObjectURL = (blob: Blob | MediaSource) => {
    const url = `blob:test/${++n}`;
    blobs.set(url, blob as Blob);
    live.add(url);
    return url;
  };
  URL.revokeObjectURL = (url: string) => {
    live.delete(url);
    revoked.push(url);
  };
  vi.stubGlobal("Audio", FakeAudio);
  return {
    blobs,
    live,
    revoked,
    restore() {
      vi.unstubAllGlobals();
      URL.createObjectURL = saved.create;
      URL.revokeObjectURL = saved.revoke;
    },
  };
}
