import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UiSettings } from "../api/types";
import { engine, uiSettings } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import { errorReply, startServer, type TestServer } from "../test/server";
import { MIC_KEY, micConstraints } from "./mic";
import { Settings } from "./Settings";

let server: TestServer;
let health: { status: string; engines: object; available_engines: object; notices: string[]; devices: { gpu: boolean } };

beforeEach(async () => {
  server = await startServer();
  health = { status: "ok", engines: {}, available_engines: {}, notices: [], devices: { gpu: false } };
  server.on("GET /api/health", () => ({ json: health }));
});
afterEach(async () => {
  await server.close();
  Reflect.deleteProperty(navigator, "mediaDevices");
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

/** The browser's device list (jsdom has no media devices). */
function fakeDevices(devices: Partial<MediaDeviceInfo>[]) {
  Object.defineProperty(navigator, "mediaDevices", {
    configurable: true,
    value: {
      enumerateDevices: async () => devices,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    },
  });
}

describe("settings page", () => {
  it("lists engines per stage as light/heavy, marks unavailable ones and shows the server notices", async () => {
    const settings = uiSettings();
    settings.available.talking_head.push(engine("sadtalker", "SadTalker (видеокарта)", true, { available: false, reason_ru: "нет весов" }));
    server.on("GET /api/settings", { json: settings });
    health.notices = ["Движок «xtts» не загрузился, используется «festival»."];
    renderSettings();

    const tts = await screen.findByTestId("engine-tts");
    expect(tts).toHaveValue("festival");
    const labels = () => within(tts).getAllByRole("option").map((o) => o.textContent);
    await waitFor(() =>
      expect(labels()).toEqual([
        "Festival (встроенный голос) (лёгкий)",
        "eSpeak NG (самый лёгкий) (лёгкий)",
        "XTTS-v2 (клонирование голоса, видеокарта) (тяжёлый, видеокарты нет)", // once /api/health says so
      ]),
    );
    const sadtalker = within(screen.getByTestId("engine-talking_head")).getByRole("option", { name: /SadTalker/ });
    expect(sadtalker).toBeDisabled();
    expect(sadtalker).toHaveTextContent("недоступен: нет весов");
    expect(screen.getByTestId("unavailable-talking_head")).toHaveTextContent("Недоступен здесь: SadTalker (видеокарта) — нет весов");
    for (const stage of ["asr", "llm", "emotion", "talking_head", "enhance"]) expect(screen.getByTestId(`engine-${stage}`)).toBeInTheDocument();
    expect(screen.queryByTestId("unavailable-tts")).not.toBeInTheDocument();
    expect(screen.getByTestId("quality-mode")).toHaveValue("balanced");
    expect(await screen.findByTestId("settings-notices")).toHaveTextContent("Движок «xtts» не загрузился");
  });

  it("shows the enhancement stage, with the engines this server cannot run disabled and why", async () => {
    server.on("GET /api/settings", { json: uiSettings() });
    server.on("PUT /api/settings", (req) => ({ json: uiSettings({ engines: { ...uiSettings().engines, ...req.json<{ engines: object }>().engines } }) }));
    const user = renderSettings();
    const enhance = await screen.findByTestId("engine-enhance");
    expect(screen.getByLabelText("Улучшение изображения")).toBe(enhance);
    expect(enhance).toHaveValue("none");
    const gfpgan = within(enhance).getByRole("option", { name: /GFPGAN/ });
    expect(gfpgan).toBeDisabled();
    // "видеокарты нет" comes from /api/health, a separate query that may answer after the settings
    await waitFor(() => expect(gfpgan).toHaveTextContent("GFPGAN (восстановление лица, видеокарта) (тяжёлый, видеокарты нет) — недоступен: нет весов GFPGAN"));
    expect(screen.getByTestId("unavailable-enhance")).toHaveTextContent("Недоступен здесь: GFPGAN (восстановление лица, видеокарта) — нет весов GFPGAN");
    expect(enhance).toHaveAccessibleDescription(/нет весов GFPGAN/);

    await user.selectOptions(enhance, "realesrgan_ncnn");
    expect(server.calls("PUT /api/settings")[0].json()).toEqual({ engines: { enhance: "realesrgan_ncnn" } });
    await waitFor(() => expect(enhance).toHaveValue("realesrgan_ncnn"));
  });

  it("switches an engine, follows the background reload and then shows the fallback notice", async () => {
    let current: UiSettings = uiSettings();
    let gets = 0;
    server.on("GET /api/settings", () => {
      gets += 1;
      if (gets >= 3) current = { ...current, engines: { ...current.engines, tts: "festival" }, reloading: {} };
      return { json: current };
    });
    server.on("PUT /api/settings", (req) => {
      const body = req.json<{ engines: Record<string, string> }>();
      current = { ...current, engines: { ...current.engines, ...body.engines }, reloading: { tts: 0.4 } };
      return { json: current };
    });
    const user = renderSettings();
    const tts = await screen.findByTestId("engine-tts");
    health.notices = ["Не удалось переключить этап «tts»: нет весов XTTS."];
    await user.selectOptions(tts, "xtts");

    expect(server.calls("PUT /api/settings")[0].json()).toEqual({ engines: { tts: "xtts" } });
    const reloading = await screen.findByTestId("reloading-tts");
    expect(within(reloading).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "40");
    expect(tts).toBeDisabled();
    await waitFor(() => expect(screen.queryByTestId("reloading-tts")).not.toBeInTheDocument(), { timeout: 4000 });
    expect(tts).toHaveValue("festival");
    expect(await screen.findByTestId("settings-notices")).toHaveTextContent("Не удалось переключить этап «tts»: нет весов XTTS.");
  });

  it("changes the quality preset and reports a refused change in Russian", async () => {
    server.on("GET /api/settings", { json: uiSettings() });
    server.on("PUT /api/settings", (req) => {
      const body = req.json<{ quality?: string }>();
      if (body.quality === "quality") return errorReply(422, "bad_settings", "Режим «качество» сейчас недоступен.");
      return { json: uiSettings({ quality: "speed" }) };
    });
    const user = renderSettings();
    const quality = await screen.findByTestId("quality-mode");
    await waitFor(() => expect(quality).toBeEnabled());
    await user.selectOptions(quality, "speed");
    await waitFor(() => expect(quality).toHaveValue("speed"));
    await user.selectOptions(quality, "quality");
    expect(await screen.findByTestId("settings-error")).toHaveTextContent("Режим «качество» сейчас недоступен.");
    expect(quality).toHaveValue("speed");
    expect(server.calls("PUT /api/settings").map((r) => r.json())).toEqual([{ quality: "speed" }, { quality: "quality" }]);
  });

  it("offers a retry when the settings cannot be loaded", async () => {
    server.on("GET /api/settings", { status: 502, body: "" });
    const user = renderSettings();
    const alert = await screen.findByText("Сервер недоступен.");
    server.on("GET /api/settings", { json: uiSettings() });
    await user.click(within(alert.closest("[role=alert]") as HTMLElement).getByRole("button", { name: "Повторить" }));
    expect(await screen.findByTestId("engine-asr")).toBeInTheDocument();
  });

  it("lists microphones and remembers the choice for the conversation", async () => {
    server.on("GET /api/settings", { json: uiSettings() });
    fakeDevices([
      { kind: "audioinput", deviceId: "default", label: "По умолчанию" },
      { kind: "audioinput", deviceId: "mic-usb", label: "USB микрофон" },
      { kind: "videoinput", deviceId: "cam", label: "Камера" },
      { kind: "audioinput", deviceId: "mic-int", label: "Встроенный микрофон" },
    ]);
    const user = renderSettings();
    const mic = await screen.findByTestId("mic-select");
    await waitFor(() => expect(within(mic).getAllByRole("option")).toHaveLength(3));
    expect(within(mic).getAllByRole("option").map((o) => o.textContent)).toEqual(["По умолчанию (системный)", "USB микрофон", "Встроенный микрофон"]);
    await user.selectOptions(mic, "mic-usb");
    expect(window.localStorage.getItem(MIC_KEY)).toBe("mic-usb");
    expect(micConstraints({ echoCancellation: true })).toEqual({ echoCancellation: true, deviceId: { exact: "mic-usb" } });
    await user.selectOptions(mic, "");
    expect(window.localStorage.getItem(MIC_KEY)).toBeNull();
    expect(micConstraints()).toEqual({});
  });
});
