import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PERSONA_KEY } from "../state/persona";
import { persona, warmup } from "../test/fixtures";
import { sequence, startServer, type TestServer } from "../test/server";
import { accusative } from "./PrepareStep";
import { errorReply, fillCharacter, happyServer, passPhoto, passVoice, renderWizard, wav } from "./testing";

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
    expect(screen.getByTestId("voice-similarity")).toHaveTextContent("сходство с образцом: 0,82 (без подстройки 0,71)");
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

/** A preparation that found Aleksandr closest to the samples once matched. */
const RANKED = {
  similarity: { matched: 0.8612, unmatched: 0.6, base_voice: "aleksandr" },
  base_voice: "aleksandr",
  standard_voices: [
    { name: "aleksandr", label: "Александр", gender: "male", matched: 0.8612, unmatched: 0.6 },
    { name: "anna", label: "Анна", gender: "female", matched: 0.69, unmatched: 0.55 },
    { name: "elena", label: "Елена", gender: "female", matched: 0.654, unmatched: 0.5 },
  ],
};

/** The `tts_voice` of the persona as last sent (POST, then PUTs). */
function savedTtsVoices(): (string | null)[] {
  return [...server.calls("POST /api/personas"), ...server.calls("PUT /api/personas/5")].map((r) => r.json<{ tts_voice: string | null }>().tts_voice);
}

describe("the base voice found by the preparation", () => {
  beforeEach(() => {
    server.on("GET /api/jobs/p1", { json: { id: "p1", status: "done", progress: 1, message: "Голос готов", result: RANKED } });
    server.on("POST /api/render", { body: Buffer.from("mp4"), headers: { "Content-Type": "video/mp4" } });
  });

  it("becomes the persona's voice when the user picked none, and the greeting speaks it", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await passVoice(user);
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));

    await screen.findByTestId("voice-prepare-done");
    expect(screen.getByTestId("voice-similarity")).toHaveTextContent("сходство с образцом: 0,86 (без подстройки 0,60)");
    expect(screen.getByTestId("voice-base-line")).toHaveTextContent(
      "Основа голоса: Александр — ближе всего к вашей записи после подстройки (сходство 0,86).",
    );
    expect(screen.queryByTestId("voice-base-use")).not.toBeInTheDocument();
    // The other voices, collapsed.
    const ranking = screen.getByTestId("voice-ranking");
    expect(ranking).not.toHaveAttribute("open");
    expect(within(ranking).getAllByTestId("voice-rank").map((li) => li.textContent)).toEqual(["Анна0,69", "Елена0,65"]);

    // Saved with the gender's default first, then with the base voice.
    await waitFor(() => expect(savedTtsVoices()).toEqual(["anna", "aleksandr"]));

    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("test-video");
    const render = await server.calls("POST /api/render")[0].form();
    expect(render.get("tts_voice")).toBe("aleksandr");
    expect(render.get("voice_id")).toBe("v1");
    expect(savedTtsVoices()).toEqual(["anna", "aleksandr"]);
  });

  it("keeps the voice the user picked and offers the base voice with a button", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await user.upload(screen.getByTestId("voice-input"), [wav()]);
    await waitFor(() => expect(screen.getByTestId("wizard-next")).toBeEnabled());
    const elena = (await screen.findAllByTestId("tts-voice")).find((li) => li.dataset.voice === "elena") as HTMLElement;
    await user.click(within(elena).getByRole("radio"));
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));

    await screen.findByTestId("voice-prepare-done");
    expect(screen.getByTestId("voice-base")).toHaveAttribute("data-used", "false");
    expect(screen.getByTestId("voice-base-line")).toHaveTextContent(
      "Ближе всего к вашей записи после подстройки — Александр (сходство 0,86). Сейчас выбран голос Елена (сходство 0,65).",
    );
    expect(savedTtsVoices()).toEqual(["elena"]);

    await user.click(screen.getByRole("button", { name: "Взять Александра" }));
    expect(screen.getByTestId("voice-base")).toHaveAttribute("data-used", "true");
    expect(screen.getByTestId("voice-base-line")).toHaveTextContent("Основа голоса: Александр — ближе всего к вашей записи после подстройки (сходство 0,86).");
    expect(screen.queryByTestId("voice-base-use")).not.toBeInTheDocument();
    await waitFor(() => expect(savedTtsVoices()).toEqual(["elena", "aleksandr"]));

    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("test-video");
    expect((await server.calls("POST /api/render")[0].form()).get("tts_voice")).toBe("aleksandr");
  });

  it("speaks the picked voice when the user keeps it", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await user.upload(screen.getByTestId("voice-input"), [wav()]);
    await waitFor(() => expect(screen.getByTestId("wizard-next")).toBeEnabled());
    const elena = (await screen.findAllByTestId("tts-voice")).find((li) => li.dataset.voice === "elena") as HTMLElement;
    await user.click(within(elena).getByRole("radio"));
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));

    await screen.findByTestId("voice-base-use");
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("test-video");
    expect((await server.calls("POST /api/render")[0].form()).get("tts_voice")).toBe("elena");
    expect(savedTtsVoices()).toEqual(["elena"]);
  });
});

describe("accusative", () => {
  it("declines the standard voices' names for «Взять …»", () => {
    expect(["Александр", "Александр HQ", "Анна", "Ирина", "Елена", "Виталий NG", "Всеволод"].map(accusative)).toEqual([
      "Александра", "Александра HQ", "Анну", "Ирину", "Елену", "Виталия NG", "Всеволода",
    ]);
  });
});

describe("persona warm-up in the wizard", () => {
  it("shows the warm-up of the saved persona on the greeting test, with its progress, until it is ready", async () => {
    server.on("POST /api/render", { body: "mp4", headers: { "Content-Type": "video/mp4" } });
    server.on(
      "GET /api/personas/5/warmup",
      sequence({ json: warmup({ status: "running", progress: 0.4 }) }, { json: warmup({ status: "running", progress: 0.4 }) }, { json: warmup() }),
    );
    const { user } = renderWizard(server);
    await passPhoto(user);
    await user.click(screen.getByTestId("voice-skip"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user);
    expect(screen.queryByTestId("persona-warmup")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("wizard-next"));

    const status = await screen.findByTestId("persona-warmup");
    expect(screen.getByTestId("wizard")).toHaveAttribute("data-step", "test");
    expect(status).toHaveAttribute("data-status", "running");
    expect(status).toHaveTextContent("Готовлю персонажа к быстрым ответам… 40%");
    expect(within(status).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "40");
    await waitFor(() => expect(status).toHaveAttribute("data-status", "ready"), { timeout: 3000 });
    expect(status).toHaveTextContent("Персонаж готов отвечать сразу");
  });
});
