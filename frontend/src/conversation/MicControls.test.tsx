import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { CaptureFormat } from "../media/captureFormat";
import { MicSource } from "../media/micSource";
import type { Recorder } from "../media/microphone";
import { FakeMicrophone } from "../media/testing/fakeMic";
import type { ConversationClientEvents } from "../realtime/ConversationClient";
import { MicControls, type MicClient } from "./MicControls";

const WEBM: CaptureFormat = { kind: "recorder", mimeType: "audio/webm;codecs=opus", format: "webm" };

/** A client that records what the microphone sends, and a recorder that sends a chunk every 20 ms. */
function setup(idleMs = 200) {
  const sent: string[] = [];
  const client: MicClient = {
    sendAudio: () => {
      sent.push("audio");
      return true;
    },
    audioEnd: () => {
      sent.push("audio_end");
      return true;
    },
    on: <K extends keyof ConversationClientEvents>(_event: K, _listener: ConversationClientEvents[K]) => () => undefined,
  } as MicClient;
  const fake = new FakeMicrophone();
  const mic = new MicSource({ getUserMedia: fake.getUserMedia, createContext: () => null, deviceId: () => null, idleMs });
  const recorder = { starts: 0, stops: 0 };
  const createRecorder = (_c: CaptureFormat, m: MicSource, onChunk: (d: ArrayBuffer) => void): Recorder => {
    let timer: ReturnType<typeof setInterval> | null = null;
    return {
      async start() {
        await m.acquire();
        recorder.starts++;
        timer = setInterval(() => onChunk(new ArrayBuffer(8)), 20);
      },
      async stop() {
        if (timer) clearInterval(timer);
        recorder.stops++;
        onChunk(new ArrayBuffer(8));
      },
    };
  };
  render(<MicControls client={client} live mic={mic} capture={WEBM} tapMs={300} createRecorder={createRecorder} />);
  return { sent, fake, recorder, ptt: screen.getByTestId("mic-ptt") };
}

const wait = (ms: number) => act(() => new Promise((r) => setTimeout(r, ms)));

describe("MicControls", () => {
  it("a short tap toggles recording on, the next tap sends", async () => {
    const { sent, recorder, ptt } = setup();
    expect(ptt).toHaveTextContent("Нажмите или удерживайте, чтобы говорить");
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    await wait(50);
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await wait(500);
    expect(ptt).toHaveAttribute("aria-pressed", "true");
    expect(ptt).toHaveTextContent("Говорите… нажмите ещё раз, чтобы отправить");
    expect(screen.getByTestId("mic-level")).toBeInTheDocument();
    expect(recorder.stops).toBe(0);
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await waitFor(() => expect(sent[sent.length - 1]).toBe("audio_end"));
    expect(sent.filter((e) => e === "audio").length).toBeGreaterThan(5);
    expect(ptt).toHaveAttribute("aria-pressed", "false");
    expect(screen.queryByTestId("mic-level")).toBeNull();
  });

  it("a hold talks while held and sends on release", async () => {
    const { sent, ptt } = setup();
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    expect(ptt).toHaveTextContent("отпустите, чтобы отправить");
    await wait(600);
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await waitFor(() => expect(sent[sent.length - 1]).toBe("audio_end"));
    expect(ptt).toHaveAttribute("aria-pressed", "false");
  });

  it("a toggled recording stopped too soon sends no empty turn; Escape cancels", async () => {
    const { sent, recorder, ptt } = setup();
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await wait(60);
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await waitFor(() => expect(recorder.stops).toBe(1));
    expect(sent).toEqual([]);
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await wait(100);
    fireEvent.keyDown(window, { key: "Escape", code: "Escape" });
    await waitFor(() => expect(recorder.stops).toBe(2));
    expect(sent).toEqual([]);
    expect(ptt).toHaveAttribute("aria-pressed", "false");
  });

  it("Space is hold-to-talk on the page but left alone on a focused button or field", async () => {
    const { sent, recorder, ptt } = setup();
    const other = document.createElement("button");
    const field = document.createElement("textarea");
    document.body.append(other, field);
    other.focus();
    expect(fireEvent.keyDown(other, { key: " ", code: "Space" })).toBe(true); // not prevented: the button gets its Space
    fireEvent.keyUp(other, { key: " ", code: "Space" });
    expect(fireEvent.keyDown(field, { key: " ", code: "Space" })).toBe(true);
    await wait(50);
    expect(recorder.starts).toBe(0);
    expect(ptt).toHaveAttribute("aria-pressed", "false");

    expect(fireEvent.keyDown(document.body, { key: " ", code: "Space" })).toBe(false);
    await wait(600);
    expect(ptt).toHaveAttribute("aria-pressed", "true");
    fireEvent.keyUp(document.body, { key: " ", code: "Space" });
    await waitFor(() => expect(sent[sent.length - 1]).toBe("audio_end"));
    other.remove();
    field.remove();
  });

  it("releases the microphone a moment after a recording and opens it again on the next press", async () => {
    const { fake, ptt } = setup(150);
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    await wait(500);
    expect(fake.live).toBe(true);
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
    await wait(50);
    expect(fake.live).toBe(true); // kept a little, for a quick next question
    await waitFor(() => expect(fake.live).toBe(false));
    fireEvent.pointerDown(ptt, { button: 0, pointerId: 1 });
    await waitFor(() => expect(fake.live).toBe(true));
    expect(fake.calls).toBe(2);
    fireEvent.pointerUp(ptt, { button: 0, pointerId: 1 });
  });
});
