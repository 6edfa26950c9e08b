import { afterEach, describe, expect, it, vi } from "vitest";
import { MicSource } from "./micSource";
import { FakeMicrophone } from "./testing/fakeMic";

describe("MicSource", () => {
  afterEach(() => vi.useRealTimers());

  it("releases the microphone after idle seconds and opens it again on the next acquire", async () => {
    vi.useFakeTimers();
    const fake = new FakeMicrophone();
    const mic = new MicSource({ getUserMedia: fake.getUserMedia, createContext: () => null, deviceId: () => null, idleMs: 3000 });
    await mic.acquire();
    expect(fake.live).toBe(true);
    mic.releaseLater();
    vi.advanceTimersByTime(2000);
    await mic.acquire(); // pressed again in time: the same stream, the release is cancelled
    expect(fake.calls).toBe(1);
    mic.releaseLater();
    vi.advanceTimersByTime(3001);
    expect(fake.live).toBe(false);
    expect(mic.isOpen).toBe(false);
    await mic.acquire();
    expect(fake.calls).toBe(2);
    expect(fake.live).toBe(true);
    mic.close();
    expect(fake.live).toBe(false);
  });

  it("shares one getUserMedia between concurrent acquires and passes refusals on", async () => {
    const fake = new FakeMicrophone();
    const mic = new MicSource({ getUserMedia: fake.getUserMedia, createContext: () => null, deviceId: () => null });
    const [a, b] = await Promise.all([mic.acquire(), mic.acquire()]);
    expect(a).toBe(b);
    expect(fake.calls).toBe(1);
    mic.release();
    fake.deny = "NotAllowedError";
    await expect(mic.acquire()).rejects.toMatchObject({ name: "NotAllowedError" });
  });
});

describe("MicSource.close", () => {
  it("stops a stream that opens after close, and can be used again", async () => {
    const fake = new FakeMicrophone();
    const mic = new MicSource({ getUserMedia: fake.getUserMedia, createContext: () => null, deviceId: () => null });
    const pending = mic.acquire();
    mic.close();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(fake.live).toBe(false);
    await mic.acquire();
    expect(fake.live).toBe(true);
    mic.close();
    expect(fake.live).toBe(false);
  });
});
