import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "./App";
import { PERSONA_KEY } from "./state/persona";
import { parseRoute, routeHash, routeParams } from "./state/route";
import { persona, uiSettings } from "./test/fixtures";
import { testQueryClient } from "./test/providers";
import { startServer, type TestServer } from "./test/server";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  server.on("GET /api/settings", { json: uiSettings() });
  server.on("GET /api/health", { json: { status: "ok", engines: {}, available_engines: {}, notices: [] } });
});
afterEach(() => server.close());

describe("routes", () => {
  it("parses hash routes", () => {
    expect(parseRoute("#/wizard")).toBe("wizard");
    expect(parseRoute("#/talk?x=1")).toBe("talk");
    expect(parseRoute("#settings")).toBe("settings");
    expect(parseRoute("")).toBeNull();
    expect(parseRoute("#/nope")).toBeNull();
    expect(parseRoute("#/personas")).toBe("personas");
    expect(parseRoute("#/talk?session=5")).toBe("talk");
    expect(parseRoute("#/talk?new=1")).toBe("talk");
    expect(routeParams("#/talk?session=5").get("session")).toBe("5");
    expect(routeHash("talk", { session: 5 })).toBe("#/talk?session=5");
    expect(routeHash("personas")).toBe("#/personas");
  });
});

describe("app shell", () => {
  it("lands on the conversation with the seeded persona and leads to the wizard", async () => {
    server.on("GET /api/personas", { json: [persona()] });
    const user = userEvent.setup();
    render(<App client={server.client} queryClient={testQueryClient()} />);
    expect(screen.getByText("Аватар", { selector: "a" })).toBeInTheDocument();
    await waitFor(() => expect(window.location.hash).toBe("#/talk"));
    const select = screen.getByTestId("persona-select");
    await waitFor(() => expect(select).toHaveValue("1"));

    await user.click(screen.getByRole("button", { name: "Создать своего аватара" }));
    await waitFor(() => expect(window.location.hash).toBe("#/wizard"));
    expect(await screen.findByTestId("wizard")).toBeVisible();
    expect(screen.queryByTestId("talk")).not.toBeInTheDocument();
  });

  it("starts with the wizard when there is no persona at all", async () => {
    server.on("GET /api/personas", { json: [] });
    render(<App client={server.client} queryClient={testQueryClient()} />);
    await waitFor(() => expect(window.location.hash).toBe("#/wizard"));
    expect(await screen.findByTestId("wizard")).toBeInTheDocument();
  });

  it("switches personas, remembers the choice and keeps wizard inputs across screens", async () => {
    server.on("GET /api/personas", { json: [persona(), persona({ id: 2, name: "Олег", gender: "male" })] });
    window.location.hash = "#/settings";
    const user = userEvent.setup();
    render(<App client={server.client} queryClient={testQueryClient()} />);
    const select = screen.getByTestId("persona-select");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    await user.selectOptions(select, "2");
    expect(window.localStorage.getItem(PERSONA_KEY)).toBe("2");
    expect(await screen.findByTestId("settings")).toBeInTheDocument();

    server.on("POST /api/avatars", { json: { avatar_id: "a1", warnings: [], face_px: 256, crop_url: "/api/avatars/a1/crop.png" } });
    await user.click(screen.getByRole("link", { name: "Мастер" }));
    await user.upload(await screen.findByTestId("photo-input"), new File([new Uint8Array(64)], "me.png", { type: "image/png" }));
    await screen.findByTestId("photo-preview");
    await user.click(screen.getByRole("link", { name: "Настройки" }));
    await screen.findByTestId("settings");
    expect(screen.getByTestId("wizard")).not.toBeVisible();
    await user.click(screen.getByRole("link", { name: "Мастер" }));
    await waitFor(() => expect(screen.getByTestId("wizard")).toBeVisible());
    expect(screen.getByTestId("photo-preview")).toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeEnabled();
    expect(server.calls("POST /api/avatars")).toHaveLength(1);
  });

  it("has a «Персонажи» tab that opens the persona screen, and hides the wizard's camera there", async () => {
    server.on("GET /api/personas", { json: [persona()] });
    server.on("GET /api/personas/1/facts", { json: [] });
    server.on("GET /api/personas/1/sessions", { json: [] });
    server.on("GET /api/voices", { json: [] });
    server.on("GET /api/tts/voices", { json: { engine: "festival", voices: [], default: { female: null, male: null }, allow_noncommercial: false } });
    window.location.hash = "#/wizard";
    const user = userEvent.setup();
    render(<App client={server.client} queryClient={testQueryClient()} />);
    await screen.findByTestId("wizard");
    await user.click(screen.getByRole("link", { name: "Персонажи" }));
    await waitFor(() => expect(window.location.hash).toBe("#/personas"));
    expect(screen.getByRole("link", { name: "Персонажи" })).toHaveAttribute("aria-current", "page");
    expect(await screen.findByTestId("persona-editor")).toBeInTheDocument();
    expect(screen.getByTestId("wizard")).not.toBeVisible();
    // the hidden wizard holds no step body (no camera, microphone, or duplicate form fields)
    expect(screen.queryByTestId("photo-input")).not.toBeInTheDocument();
    expect(screen.getByLabelText("Имя")).toHaveValue("Аня");
  });
});
