import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WARMUP_POLL_MS } from "../api/queries";
import { warmup } from "../test/fixtures";
import { renderWithProviders } from "../test/providers";
import { errorReply, sequence, startServer, type TestServer } from "../test/server";
import { PersonaWarmupStatus } from "./PersonaWarmupStatus";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(() => server.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("persona warm-up", () => {
  it("polls while queued or running, shows the percentage on a progress bar, and stops once ready", async () => {
    server.on(
      "GET /api/personas/3/warmup",
      sequence({ json: warmup({ status: "queued" }) }, { json: warmup({ status: "running", progress: 0.4 }) }, { json: warmup({ status: "ready", seconds: 2.1 }) }),
    );
    renderWithProviders(<PersonaWarmupStatus personaId={3} />, server.client);
    const status = await screen.findByTestId("persona-warmup");
    expect(status).toHaveAttribute("data-status", "queued");
    expect(status).toHaveTextContent("Персонаж ждёт подготовки к быстрым ответам");

    await waitFor(() => expect(status).toHaveAttribute("data-status", "running"), { timeout: 2000 });
    expect(status).toHaveTextContent("Готовлю персонажа к быстрым ответам… 40%");
    expect(screen.getByRole("progressbar", { name: "Подготовка персонажа" })).toHaveAttribute("aria-valuenow", "40");

    await waitFor(() => expect(status).toHaveAttribute("data-status", "ready"), { timeout: 2000 });
    expect(status).toHaveTextContent("Персонаж готов отвечать сразу");
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
    const polls = server.calls("GET /api/personas/3/warmup").length;
    expect(polls).toBe(3);
    await sleep(WARMUP_POLL_MS * 2.5);
    expect(server.calls("GET /api/personas/3/warmup")).toHaveLength(polls);
  });

  it("says when the warm-up failed and stops polling", async () => {
    server.on("GET /api/personas/3/warmup", { json: warmup({ status: "failed" }) });
    renderWithProviders(<PersonaWarmupStatus personaId={3} />, server.client);
    const status = await screen.findByTestId("persona-warmup");
    expect(status).toHaveAttribute("data-status", "failed");
    expect(status).toHaveTextContent("первый ответ будет медленнее");
    await sleep(WARMUP_POLL_MS * 2.5);
    expect(server.calls("GET /api/personas/3/warmup")).toHaveLength(1);
  });

  it("shows nothing for a server without warm-ups (404), or once ready where only work in progress matters", async () => {
    server.on("GET /api/personas/3/warmup", errorReply(404, "not_found", "Не найдено."));
    server.on("GET /api/personas/4/warmup", { json: warmup() });
    const { container } = renderWithProviders(
      <>
        <PersonaWarmupStatus personaId={3} />
        <PersonaWarmupStatus personaId={4} hideWhenReady />
      </>,
      server.client,
    );
    await waitFor(() => expect(server.calls("GET /api/personas/4/warmup")).toHaveLength(1));
    await waitFor(() => expect(server.calls("GET /api/personas/3/warmup")).toHaveLength(1));
    await sleep(50);
    expect(container).toBeEmptyDOMElement();
  });
});
