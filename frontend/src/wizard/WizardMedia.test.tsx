/** A hidden wizard (another screen shown) or a change of step leaves no camera or microphone on. */
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PersonaProvider } from "../state/persona";
import { TestProviders } from "../test/providers";
import { startServer, type TestServer } from "../test/server";
import { happyServer, jpeg } from "./testing";
import { Wizard } from "./Wizard";

interface FakeTrack {
  kind: string;
  stop: ReturnType<typeof vi.fn>;
}

let server: TestServer;
let tracks: FakeTrack[];

function fakeStream(kind: string): MediaStream {
  const track: FakeTrack = { kind, stop: vi.fn() };
  tracks.push(track);
  return { getTracks: () => [track] } as unknown as MediaStream;
}

class FakeRecorder {
  static isTypeSupported = () => true;
  static instances: FakeRecorder[] = [];
  state = "inactive";
  mimeType = "audio/webm";
  ondataavailable: ((e: { data: Blob }) => void) | null = null;
  onstop: (() => void) | null = null;
  constructor(readonly stream: MediaStream) {
    FakeRecorder.instances.push(this);
  }
  start() {
    this.state = "recording";
  }
  stop() {
    this.state = "inactive";
    this.ondataavailable?.({ data: new Blob([new Uint8Array(100)]) });
    this.onstop?.();
  }
}

beforeEach(async () => {
  server = happyServer(await startServer());
  tracks = [];
  FakeRecorder.instances = [];
  Object.defineProperty(navigator, "mediaDevices", {
    configurable: true,
    value: { getUserMedia: vi.fn(async (c: MediaStreamConstraints) => fakeStream(c.video ? "video" : "audio")) },
  });
  vi.stubGlobal("MediaRecorder", FakeRecorder);
  vi.spyOn(HTMLMediaElement.prototype, "play").mockResolvedValue(undefined);
});
afterEach(async () => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  Reflect.deleteProperty(navigator, "mediaDevices");
  await server.close();
});

function renderWizard(active: boolean) {
  const tree = (on: boolean) => (
    <TestProviders client={server.client}>
      <PersonaProvider>
        <Wizard active={on} />
      </PersonaProvider>
    </TestProviders>
  );
  const view = render(tree(active));
  return { user: userEvent.setup(), setActive: (on: boolean) => view.rerender(tree(on)) };
}

describe("wizard media", () => {
  it("stops the webcam when the wizard is hidden, and does not reopen it on return", async () => {
    const { user, setActive } = renderWizard(true);
    await user.click(screen.getByTestId("photo-webcam"));
    await waitFor(() => expect(tracks).toHaveLength(1));
    expect(screen.getByLabelText("Изображение с камеры")).toBeInTheDocument();
    expect(tracks[0].stop).not.toHaveBeenCalled();

    setActive(false);
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(screen.queryByLabelText("Изображение с камеры")).not.toBeInTheDocument();

    setActive(true);
    expect(await screen.findByTestId("photo-webcam")).toHaveAttribute("aria-pressed", "false");
    expect(tracks).toHaveLength(1);
  });

  it("stops the webcam when the step changes", async () => {
    const { user } = renderWizard(true);
    await user.click(screen.getByTestId("photo-webcam"));
    await waitFor(() => expect(tracks).toHaveLength(1));
    await user.upload(screen.getByTestId("photo-input"), jpeg());
    await screen.findByTestId("photo-preview");
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("voice-input");
    await waitFor(() => expect(tracks[0].stop).toHaveBeenCalled());
  });

  it("stops a recording under way when the wizard is hidden and drops it", async () => {
    const { user, setActive } = renderWizard(true);
    await user.upload(screen.getByTestId("photo-input"), jpeg());
    await screen.findByTestId("photo-preview");
    await user.click(screen.getByTestId("wizard-next"));
    await user.click(await screen.findByTestId("voice-record"));
    await waitFor(() => expect(screen.getByTestId("voice-record")).toHaveAttribute("aria-pressed", "true"));
    expect(tracks.map((t) => t.kind)).toEqual(["audio"]);

    setActive(false);
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(FakeRecorder.instances[0].state).toBe("inactive");
    setActive(true);
    expect(await screen.findByTestId("voice-record")).toHaveAttribute("aria-pressed", "false");
    expect(server.calls("POST /api/voices")).toHaveLength(0);
  });
});
