import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UiSettings } from "../api/types";
import { FakeAudio, installFakeAudio, type FakeAudioEnv } from "../test/audio";
import { engine, standardVoice, ttsVoices, uiSettings } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import { errorReply, startServer, type TestServer } from "../test/server";
import { Settings } from "./Settings";

let server: TestServer;
let audio: FakeAudioEnv;
const WAV = Buffer.from("RIFF----WAVEfmt ");

/** Settings with RHVoice as the TTS engine. */
function rhvoiceSettings(overrides: Partial<UiSettings> = {}): UiSettings {
  const base = uiSettings();
  return {
    ...base,
    engines: { ...base.engines, tts: "rhvoice" },
    available: { ...base.available, tts: [engine("rhvoice", "RHVoice (естественные голоса, CPU)"), ...base.available.tts] },
    ...overrides,
  };
}

beforeEach(async () => {
  server = await startServer();
  server.on("GET /api/health", { json: { status: "ok", engines: {}, available_engines: {}, notices: [], devices: { gpu: false } } });
  server.on("GET /api/tts/voices", { json: ttsVoices() });
  audio = installFakeAudio();
});
afterEach(async () => {
  audio.restore();
  await server.close();
});

function renderSettings() {
  const user = userEvent.setup();
  render(
    <TestProviders client={server.client}>
      <Settings />
    </TestProviders>,
  );
  return user;
}

describe("settings: RHVoice voices", () => {
  it("offers the voices in a select, with the licence of the non-commercial ones, and saves the chosen one", async () => {
    let current = rhvoiceSettings();
    server.on("GET /api/settings", () => ({ json: current }));
    server.on("PUT /api/settings", (req) => {
      const body = req.json<{ options: { tts: { voice: string } } }>();
      current = rhvoiceSettings({ options: { tts: { voice: body.options.tts.voice, allow_noncommercial_voices: true } } });
      return { json: current };
    });
    const user = renderSettings();

    const select = await screen.findByTestId("tts-voice");
    expect(screen.getByLabelText("Голос синтеза")).toBe(select);
    // the configured voice is not reported: the defaults are shown
    expect(select).toHaveValue("");
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "По умолчанию: Анна (женский), Александр (мужской)",
      "Анна (женский)",
      "Елена (женский)",
      "Александр (мужской)",
      "Арина (женский) — только для некоммерческого использования, CC-BY-NC-ND-4.0",
      "Павел (мужской) — только для некоммерческого использования, CC-BY-NC-ND-4.0",
    ]);

    await user.selectOptions(select, "pavel");
    await waitFor(() => expect(server.calls("PUT /api/settings")).toHaveLength(1));
    expect(server.calls("PUT /api/settings")[0].json()).toEqual({ options: { tts: { voice: "pavel" } } });
    await waitFor(() => expect(screen.getByTestId("tts-voice")).toHaveValue("pavel"));
    // the voices are fetched again after a change (allowing non-commercial voices changes them)
    await waitFor(() => expect(server.calls("GET /api/tts/voices").length).toBeGreaterThan(1));
  });

  it("plays the selected voice", async () => {
    server.on("GET /api/settings", { json: rhvoiceSettings({ options: { tts: { voice: "elena" } } }) });
    server.on("POST /api/tts/preview", { body: WAV, headers: { "Content-Type": "audio/wav" } });
    const user = renderSettings();
    expect(await screen.findByTestId("tts-voice")).toHaveValue("elena");
    await user.click(within(screen.getByTestId("tts-voice-settings")).getByRole("button", { name: "Послушать" }));
    await waitFor(() => expect(FakeAudio.instances).toHaveLength(1));
    expect(server.calls("POST /api/tts/preview")[0].json()).toEqual({ voice: "elena", text: null });
    expect(FakeAudio.instances[0].play).toHaveBeenCalled();
    expect(await screen.findByRole("button", { name: "Остановить" })).toBeInTheDocument();
    FakeAudio.instances[0].end();
    await screen.findByRole("button", { name: "Послушать" });
    expect(audio.revoked).toEqual([FakeAudio.instances[0].src]);
  });

  it("shows a failed preview with the server's message", async () => {
    server.on("GET /api/settings", { json: rhvoiceSettings() });
    server.on("POST /api/tts/preview", errorReply(422, "unknown_voice", "Голос «anna» не установлен."));
    const user = renderSettings();
    await screen.findByTestId("tts-voice");
    await user.click(within(screen.getByTestId("tts-voice-settings")).getByRole("button", { name: "Послушать" }));
    expect(await screen.findByTestId("tts-preview-error")).toHaveTextContent("Голос «anna» не установлен.");
    expect(server.calls("POST /api/tts/preview")[0].json()).toEqual({ voice: "anna", text: null }); // the female default
  });

  it("switches the non-commercial voices on with the licence caveat", async () => {
    server.on("GET /api/settings", { json: rhvoiceSettings() });
    server.on("GET /api/tts/voices", { json: ttsVoices({ voices: [standardVoice("anna", "Анна", "female"), standardVoice("aleksandr", "Александр", "male")], allow_noncommercial: false }) });
    server.on("PUT /api/settings", () => ({ json: rhvoiceSettings() }));
    const user = renderSettings();
    const toggle = await screen.findByRole("switch", { name: "Разрешить голоса только для некоммерческого использования" });
    expect(toggle).not.toBeChecked();
    expect(toggle).toHaveAccessibleDescription(/запрещает коммерческое использование/);
    expect(screen.queryByText(/только для некоммерческого использования,/)).not.toBeInTheDocument();
    server.on("GET /api/tts/voices", { json: ttsVoices() });
    await user.click(toggle);
    await waitFor(() => expect(server.calls("PUT /api/settings")).toHaveLength(1));
    expect(server.calls("PUT /api/settings")[0].json()).toEqual({ options: { tts: { allow_noncommercial_voices: true } } });
    await waitFor(() => expect(screen.getByRole("switch")).toBeChecked());
    expect(within(screen.getByTestId("tts-voice")).getByRole("option", { name: /Арина/ })).toHaveTextContent("только для некоммерческого использования");
  });

  it("is not shown for other TTS engines", async () => {
    server.on("GET /api/settings", { json: uiSettings() });
    renderSettings();
    expect(await screen.findByTestId("engine-tts")).toHaveValue("festival");
    expect(screen.queryByTestId("tts-voice-settings")).not.toBeInTheDocument();
    expect(server.calls("GET /api/tts/voices")).toHaveLength(0);
  });
});
