import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PERSONA_KEY } from "../state/persona";
import { persona } from "../test/fixtures";
import { startServer, type TestServer } from "../test/server";
import { errorReply, fillCharacter, happyServer, passPhoto, passVoice, renderWizard } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = happyServer(await startServer());
  server.on("POST /api/voices/v1/prepare", { status: 202, json: { job_id: "p1", status_url: "/api/jobs/p1" } });
});
afterEach(() => server.close());

/** A job that moves 25% per poll, with the server's message. */
function steppingJob(id: string, result: object, messages = ["Нарезка фраз", "Распознавание", "Подстройка голоса", "Проверка сходства"]) {
  let polls = 0;
  return () => {
    polls += 1;
    if (polls <= messages.length) return { json: { id, status: "running", progress: (polls - 1) / messages.length, message: messages[polls - 1] } };
    return { json: { id, status: "done", progress: 1, message: "Голос готов", result } };
  };
}

describe("voice preparation and the test greeting", () => {
  it("shows real progress while polling, the similarity, the greeting video, and finishes on the new persona", async () => {
    server.on("GET /api/jobs/p1", steppingJob("p1", { similarity: { matched: 0.8234, unmatched: 0.7111 } }));
    server.on("POST /api/render", { status: 202, json: { job_id: "r1", status_url: "/api/jobs/r1" } });
    server.on("GET /api/jobs/r1", steppingJob("r1", {}, ["Синтез речи", "Анимация"]));
    const { user } = renderWizard(server);
    await passPhoto(user);
    await passVoice(user);
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));

    const bar = await screen.findByTestId("voice-prepare-progress");
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    for (const [value, message] of [["0", "Нарезка фраз"], ["25", "Распознавание"], ["50", "Подстройка голоса"], ["75", "Проверка сходства"]]) {
      await waitFor(() => expect(bar).toHaveAttribute("aria-valuenow", value), { timeout: 3000 });
      expect(screen.getByText(message)).toBeInTheDocument();
    }
    await screen.findByTestId("voice-prepare-done", {}, { timeout: 3000 });
    expect(bar).toHaveAttribute("aria-valuenow", "100");
    expect(screen.getByTestId("voice-similarity")).toHaveTextContent("сходство с образцом: 0.82 (без подстройки 0.71)");
    expect(server.calls("GET /api/jobs/p1").length).toBe(5);

    await user.click(screen.getByTestId("wizard-next"));
    const video = await screen.findByTestId("test-video", {}, { timeout: 4000 });
    expect(video).toHaveAttribute("src", `${server.url}/api/jobs/r1/result`);
    const render = await server.calls("POST /api/render")[0].form();
    expect(Object.fromEntries(render.entries())).toEqual({ avatar_id: "a1", voice_id: "v1", tts_voice: "anna", text: "Привет, я Маша!" });

    server.on("GET /api/personas", { json: [persona(), persona({ id: 5, name: "Маша" })] });
    window.location.hash = "#/wizard";
    await user.click(screen.getByTestId("wizard-finish"));
    await waitFor(() => expect(window.location.hash).toBe("#/talk"));
    expect(window.localStorage.getItem(PERSONA_KEY)).toBe("5");
    // The wizard starts afresh for the next avatar.
    expect(screen.getByTestId("wizard")).toHaveAttribute("data-step", "photo");
  });

  it("lets the user retry a failed preparation and a failed render without losing anything", async () => {
    server.on("GET /api/jobs/p1", { json: { id: "p1", status: "error", progress: 0.3, message: "Ошибка", error: { code: "voice_not_enough", message: "Для подготовки нужно хотя бы 30 секунд речи.", detail: "" } } });
    server.on("POST /api/render", errorReply(500, "internal_error", "Внутренняя ошибка сервера."));
    const { user } = renderWizard(server);
    await passPhoto(user);
    await passVoice(user);
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));

    expect(await screen.findByTestId("voice-prepare-error")).toHaveTextContent("Для подготовки нужно хотя бы 30 секунд речи.");
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    server.on("GET /api/jobs/p1", { json: { id: "p1", status: "done", progress: 1, message: "Голос готов", result: { similarity: { matched: 0.9, unmatched: 0.5 } } } });
    await user.click(screen.getByRole("button", { name: "Повторить" }));
    await screen.findByTestId("voice-prepare-done");
    expect(server.calls("POST /api/voices/v1/prepare")).toHaveLength(2);

    await user.click(screen.getByTestId("wizard-next"));
    expect(await screen.findByTestId("test-error")).toHaveTextContent("Внутренняя ошибка сервера.");
    server.on("POST /api/render", { body: Buffer.from("mp4"), headers: { "Content-Type": "video/mp4" } });
    await user.click(screen.getByRole("button", { name: "Повторить" }));
    await screen.findByTestId("test-video");

    // Going back to the finished preparation does not prepare again.
    await user.click(screen.getByTestId("wizard-back"));
    await screen.findByTestId("voice-prepare-done");
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("test-video");
    expect(server.calls("POST /api/voices/v1/prepare")).toHaveLength(2);
    expect(server.calls("POST /api/render")).toHaveLength(2);
  });
});
