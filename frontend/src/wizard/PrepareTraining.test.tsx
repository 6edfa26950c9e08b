import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../test/server";
import { fillCharacter, happyServer, passPhoto, passVoice, renderWizard } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = happyServer(await startServer());
  server.on("POST /api/voices/v1/prepare", { status: 202, json: { job_id: "p1", status_url: "/api/jobs/p1" } });
  server.on("GET /api/jobs/p1", { json: { id: "p1", status: "done", progress: 1, message: "Голос готов", result: { similarity: { matched: 0.8, unmatched: 0.7 } } } });
});
afterEach(() => server.close());

async function toPreparedVoice() {
  const { user } = renderWizard(server);
  await passPhoto(user);
  await passVoice(user);
  await fillCharacter(user);
  await user.click(screen.getByTestId("wizard-next"));
  await screen.findByTestId("voice-prepare-done", {}, { timeout: 3000 });
  return user;
}

describe("the wizard's voice preparation step and training", () => {
  it("on a server that cannot train says why in one sentence and keeps the matched voice", async () => {
    server.on("GET /api/health", { json: { training: { can_train: false, reason: "Обучение голоса недоступно: нет базовой модели XTTS-v2 (dvae.pth).", device: "none", forced: false } } });
    await toPreparedVoice();
    expect(await screen.findByTestId("voice-train-unavailable")).toHaveTextContent(
      "Обучение голоса недоступно: нет базовой модели XTTS-v2 (dvae.pth), поэтому голос подстраивается без обучения.",
    );
    expect(screen.getByTestId("wizard-next")).toBeEnabled(); // training is never in the way
  });

  it("on a server that can train offers «Обучить голос» with the estimate and starts the job", async () => {
    server.on("GET /api/health", { json: { training: { can_train: true, reason: null, device: "cuda", forced: false } } });
    let started = false;
    server.on("GET /api/voices/v1/train", () => ({
      json: {
        can_train: true, reason: null, device: "cuda", forced: false, voice_id: "v1", audio_s: 42, enough_audio: true, epochs: 10, estimate_s: 540,
        job: started ? { id: "t1", kind: "voice_train", status: "queued", progress: 0, message: "В очереди", created: 1, error: null, timings: null, warnings: [], result: null } : null,
      },
    }));
    server.on("POST /api/voices/v1/train", () => {
      started = true;
      return { status: 202, json: { job_id: "t1", status_url: "/api/jobs/t1" } };
    });
    const user = await toPreparedVoice();
    const start = await screen.findByTestId("voice-train-start");
    expect(screen.getByTestId("voice-train-estimate")).toHaveTextContent("Займёт примерно 9 мин (42 с речи, 10 эпох).");
    await user.click(start);
    expect(await screen.findByTestId("voice-train-progress")).toHaveAttribute("aria-valuenow", "0");
    expect(screen.getByTestId("voice-train-message")).toHaveTextContent("В очереди");
    expect(server.calls("POST /api/voices/v1/train")).toHaveLength(1);
  });
});
