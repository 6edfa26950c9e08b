import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VoiceEditor } from "../personas/VoiceEditor";
import { persona, ttsVoices, voiceInfo } from "../test/fixtures";
import { renderWithProviders } from "../test/providers";
import { JobServer } from "../realtime/testing/jobServer";
import { startServer, type TestServer } from "../test/server";
import type { JobEvent } from "../realtime/events.gen";
import { epochsText, formatDuration, progressLine, TrainingPanel } from "./TrainingPanel";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(() => server.close());

const canTrain = { can_train: true, reason: null, device: "cuda", forced: false };

function status(job: object | null, extra: object = {}) {
  return { ...canTrain, voice_id: "v1", audio_s: 95, enough_audio: true, epochs: 10, estimate_s: 1860, job, ...extra };
}

function trainingJob(step: number, progress: number, overrides: object = {}) {
  return {
    id: "t1", kind: "voice_train", status: "running", progress, message: `Обучение: эпоха 1 из 10, шаг ${step} из 40`,
    created: 1, error: null, timings: null, warnings: [], result: null,
    details: { stage: "training", fraction: step / 40, message: "", epoch: 1, epochs: 10, step, steps: 40, loss: 2.5 - step / 100, eta_s: 600 - step * 10 },
    ...overrides,
  };
}

/** A server training voice v1: each status poll moves the job one step on, then it is done. */
function trainingServer(steps: number) {
  let started = false;
  let polls = 0;
  server.on("GET /api/health", { json: { training: canTrain } });
  server.on("POST /api/voices/v1/train", () => {
    started = true;
    return { status: 202, json: { job_id: "t1", status_url: "/api/jobs/t1" } };
  });
  server.on("GET /api/voices/v1/train", () => {
    if (!started) return { json: status(null) };
    polls += 1;
    if (polls <= steps) return { json: status(trainingJob(polls, 0.1 + polls * 0.1)) };
    const result = { used: true, version: 2, message: "Обученный голос лучше: сходство с записями 0,91 против 0,84, ошибок в словах 5% против 8%, и теперь персонаж говорит им." };
    return { json: status(trainingJob(steps, 1, { status: "done", message: "Готово", result, details: null })) };
  });
}

describe("voice training panel", () => {
  it("explains in one sentence why this server cannot train, and that the voice is matched instead", async () => {
    server.on("GET /api/health", {
      json: { training: { can_train: false, reason: "Обучение голоса требует видеокарту NVIDIA с CUDA, а на этом сервере её нет.", device: "none", forced: false } },
    });
    renderWithProviders(<TrainingPanel voiceId="v1" />, server.client);
    const line = await screen.findByTestId("voice-train-unavailable");
    expect(line).toHaveTextContent("Обучение голоса требует видеокарту NVIDIA с CUDA, а на этом сервере её нет, поэтому голос подстраивается без обучения.");
    expect(screen.queryByTestId("voice-train-start")).not.toBeInTheDocument();
    expect(server.calls("GET /api/voices/v1/train")).toHaveLength(0);
  });

  it("offers «Обучить голос» with an estimate, shows the progress moving and the verdict", async () => {
    trainingServer(3);
    const user = userEvent.setup();
    renderWithProviders(<TrainingPanel voiceId="v1" />, server.client);
    const start = await screen.findByTestId("voice-train-start");
    expect(start).toHaveTextContent("Обучить голос");
    expect(screen.getByTestId("voice-train-estimate")).toHaveTextContent("Займёт примерно 31 мин (95 с речи, 10 эпох).");
    await user.click(start);
    expect(server.calls("POST /api/voices/v1/train")).toHaveLength(1);

    const bar = await screen.findByTestId("voice-train-progress");
    const seen = new Set<string>();
    await waitFor(
      () => {
        seen.add(bar.getAttribute("aria-valuenow") ?? "");
        expect(seen.has("40")).toBe(true);
      },
      { timeout: 5000, interval: 50 },
    );
    expect(seen.has("20") || seen.has("30")).toBe(true); // the bar moved through the steps
    const result = await screen.findByTestId("voice-train-result", {}, { timeout: 4000 });
    expect(result).toHaveAttribute("data-used", "true");
    expect(result).toHaveTextContent("Обученный голос лучше");
    expect(result).toHaveTextContent("и теперь персонаж говорит им.");
    expect(screen.getByTestId("voice-train-start")).toHaveTextContent("Обучить ещё раз");
  });

  it("coming back to the page shows a running job where it is, and can stop it", async () => {
    let cancelled = false;
    server.on("GET /api/health", { json: { training: canTrain } });
    server.on("GET /api/voices/v1/train", () => ({
      json: status(cancelled
        ? trainingJob(12, 0.4, { status: "error", message: "Обучение голоса отменено.", error: { code: "cancelled", message: "Обучение голоса отменено." } })
        : trainingJob(12, 0.4)),
    }));
    server.on("DELETE /api/voices/v1/train", () => {
      cancelled = true;
      return { json: status(null) };
    });
    const user = userEvent.setup();
    const first = renderWithProviders(<TrainingPanel voiceId="v1" />, server.client);
    expect(await screen.findByTestId("voice-train-progress")).toHaveAttribute("aria-valuenow", "40");
    first.unmount(); // the user leaves the page...
    renderWithProviders(<TrainingPanel voiceId="v1" />, server.client); // ...and comes back (a fresh cache)
    expect(await screen.findByTestId("voice-train-progress")).toHaveAttribute("aria-valuenow", "40");
    expect(screen.getByTestId("voice-train-details")).toHaveTextContent("эпоха 1 из 10 · шаг 12 из 40 · потери 2,380 · осталось ≈ 8 мин");
    await user.click(screen.getByTestId("voice-train-cancel"));
    expect(await screen.findByTestId("voice-train-cancelled")).toBeInTheDocument();
    expect(screen.getByTestId("voice-train-start")).toHaveTextContent("Продолжить обучение");
  });

  it("can be started from the persona's voice editor", async () => {
    trainingServer(1);
    server.on("GET /api/voices", { json: [voiceInfo()] });
    server.on("GET /api/tts/voices", { json: ttsVoices() });
    const user = userEvent.setup();
    renderWithProviders(<VoiceEditor persona={persona({ voice_id: "v1" })} />, server.client);
    await user.click(await screen.findByTestId("voice-train-start"));
    expect(await screen.findByTestId("voice-train-result", {}, { timeout: 4000 })).toBeInTheDocument();
    expect(server.calls("POST /api/voices/v1/train")).toHaveLength(1);
  });

  it("while the jobs socket is connected, progress comes from job events and the status is not polled", async () => {
    const jobs = await new JobServer().start(server.http);
    let finished = false;
    const result = { used: false, version: null, message: "Обученный голос не лучше прежнего: оставлен прежний." };
    server.on("GET /api/health", { json: { training: canTrain } });
    server.on("GET /api/voices/v1/train", () => ({
      json: status(finished ? trainingJob(40, 1, { status: "done", message: "Готово", result, details: null }) : trainingJob(4, 0.1)),
    }));
    jobs.jobs.set("t1", trainingJob(4, 0.1) as JobEvent);
    renderWithProviders(<TrainingPanel voiceId="v1" />, server.client);
    const panel = await screen.findByTestId("voice-train");
    await waitFor(() => expect(panel).toHaveAttribute("data-live", "true"));
    expect(jobs.received.map((r) => [r.event, r.data])).toEqual([["watch", { job_id: "t1" }]]);
    const bar = screen.getByTestId("voice-train-progress");
    for (const step of [12, 20, 28]) {
      jobs.push(trainingJob(step, step / 40) as JobEvent);
      await waitFor(() => expect(bar).toHaveAttribute("aria-valuenow", String(Math.round((step / 40) * 100))));
    }
    expect(screen.getByTestId("voice-train-details")).toHaveTextContent("шаг 28 из 40");
    const polls = server.calls("GET /api/voices/v1/train").length;
    await new Promise((r) => setTimeout(r, 1500)); // longer than a poll's interval
    expect(server.calls("GET /api/voices/v1/train")).toHaveLength(polls);

    finished = true;
    jobs.push(trainingJob(40, 1, { status: "done", message: "Готово", result, details: null }) as JobEvent);
    expect(await screen.findByTestId("voice-train-result")).toHaveAttribute("data-used", "false");
    // the end comes from the socket; the status is fetched once more (the voice may have changed)
    await waitFor(() => expect(server.calls("GET /api/voices/v1/train").length).toBeGreaterThan(polls));
    await waitFor(async () => expect(await jobs.watchers("t1")).toBe(0));
    expect(screen.getByTestId("voice-train-start")).toHaveTextContent("Обучить ещё раз");
    await jobs.stop();
  });

  it("falls back to polling the status while the jobs socket is not connected", async () => {
    const jobs = await new JobServer().start(server.http);
    let step = 4;
    server.on("GET /api/health", { json: { training: canTrain } });
    server.on("GET /api/voices/v1/train", () => ({ json: status(trainingJob(step, step / 40)) }));
    jobs.jobs.set("t1", trainingJob(4, 0.1) as JobEvent);
    renderWithProviders(<TrainingPanel voiceId="v1" />, server.client);
    const panel = await screen.findByTestId("voice-train");
    await waitFor(() => expect(panel).toHaveAttribute("data-live", "true"));
    jobs.refuse = true; // the socket goes and does not come back
    jobs.dropConnections();
    await waitFor(() => expect(panel).toHaveAttribute("data-live", "false"));
    step = 24; // only the REST status knows
    await waitFor(() => expect(screen.getByTestId("voice-train-progress")).toHaveAttribute("aria-valuenow", "60"), { timeout: 5000 });
    expect(screen.getByTestId("voice-train-details")).toHaveTextContent("шаг 24 из 40");
    await jobs.stop();
  });

  it("formats durations and the training line the Russian way", () => {
    expect(formatDuration(20)).toBe("меньше минуты");
    expect(formatDuration(600)).toBe("10 мин");
    expect(formatDuration(3 * 3600)).toBe("3,0 ч");
    expect([1, 3, 10, 12, 21, 24].map(epochsText)).toEqual(["1 эпоха", "3 эпохи", "10 эпох", "12 эпох", "21 эпоха", "24 эпохи"]);
    expect(progressLine(null)).toBeNull();
    expect(progressLine({ stage: "dataset", fraction: 0.5, message: "" })).toBeNull();
    const step = { stage: "training" as const, fraction: 0.4, message: "", epoch: 2, epochs: 10, step: 40, steps: 100, loss: 0.1234 };
    expect(progressLine({ ...step, eta_s: 600 })).toBe("эпоха 2 из 10 · шаг 40 из 100 · потери 0,123 · осталось ≈ 10 мин");
    // paused for a conversation: no time left is promised
    expect(progressLine({ ...step, paused: true })).toBe("эпоха 2 из 10 · шаг 40 из 100 · потери 0,123 · на паузе");
  });
});
