import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorReply, sequence, startServer, type TestServer } from "../test/server";
import { personaServer, renderPersonas } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  personaServer(server);
});
afterEach(() => server.close());

describe("persona screen: studio recording", () => {
  it("renders at studio quality as a job, shows its stages on a progress bar, then the video", async () => {
    server.on("POST /api/render", { status: 202, json: { job_id: "s1", status_url: "/api/jobs/s1" } });
    server.on("GET /api/jobs/s1", sequence(
      { json: { id: "s1", kind: "render", status: "running", progress: 0.3, message: "Студия: кадр 10 из 50" } },
      { json: { id: "s1", kind: "render", status: "done", progress: 1, message: "Готово", result_url: "/api/jobs/s1/result" } },
    ));
    server.on("GET /api/jobs/s1/result", { body: "mp4", headers: { "Content-Type": "video/mp4" } });
    const { user } = renderPersonas(server);
    await user.click(await screen.findByRole("button", { name: "Записать видео" }, { timeout: 5000 }));
    expect(await screen.findByTestId("studio-message")).toHaveTextContent(/Студия: кадр 10 из 50|Отправка/);
    expect(await screen.findByTestId("studio-video", {}, { timeout: 5000 })).toBeInTheDocument();
    const form = Object.fromEntries((await server.calls("POST /api/render")[0].form()).entries());
    expect(form).toMatchObject({ quality: "studio", text: "Привет! Рада тебя видеть." });
    await waitFor(() => expect(server.calls("GET /api/jobs/s1/result")).toHaveLength(1));
  });

  it("shows the server's Russian refusal when the SadTalker weights are missing", async () => {
    server.on("POST /api/render", errorReply(503, "engine_unavailable", "Студийное качество недоступно: нет весов SadTalker."));
    const { user } = renderPersonas(server);
    await user.click(await screen.findByRole("button", { name: "Записать видео" }, { timeout: 5000 }));
    expect(await screen.findByTestId("studio-error")).toHaveTextContent("Студийное качество недоступно");
    expect(screen.queryByTestId("studio-video")).not.toBeInTheDocument();
  });
});
