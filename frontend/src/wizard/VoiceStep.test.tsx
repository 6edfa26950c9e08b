import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../test/server";
import { fileReport, voiceInfo, voiceReport } from "../test/fixtures";
import { errorReply, happyServer, passPhoto, renderWizard, voiceJob, wav } from "./testing";

let server: TestServer;
beforeEach(async () => {
  server = happyServer(await startServer());
});
afterEach(() => server.close());

describe("voice step", () => {
  it("renders the quality report with its level and adds samples to the same voice", async () => {
    const quiet = fileReport({ name: "short.wav", duration_s: 14, usable_s: 12.5, loudness_lufs: -35.2, snr_db: 12.3, clipping_pct: 0.4, problems: ["Слишком тихо: -35 LUFS."] });
    const result = { voice: voiceInfo({ usable_s: 12.5 }), report: voiceReport({ files: [quiet] }) };
    voiceJob(server, "POST /api/voices", "e1", { result }, ["Анализ записи 1 из 1: short.wav"]);
    const { user } = renderWizard(server);
    await passPhoto(user);

    await user.upload(screen.getByTestId("voice-input"), [wav("short.wav")]);
    // the upload is analysed in a job: its message and progress show while it runs
    expect(await screen.findByTestId("voice-analysis-message")).toHaveTextContent("Анализ записи 1 из 1: short.wav");
    expect(screen.getByTestId("voice-analysis-progress")).toHaveAttribute("aria-valuenow", "0");
    const enough = await screen.findByTestId("voice-enough");
    expect(screen.queryByTestId("voice-analysis-progress")).not.toBeInTheDocument();
    expect(server.calls("GET /api/jobs/e1")).toHaveLength(2);
    expect(enough).toHaveAttribute("data-level", "not_enough");
    expect(enough).toHaveTextContent("Мало речи: нужно ещё хотя бы 0:17");
    expect(within(enough).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "4"); // 12.5 of 300 s
    const report = screen.getByTestId("voice-report");
    expect(report).toHaveTextContent("short.wav");
    expect(report).toHaveTextContent("-35,2 LUFS");
    expect(report).toHaveTextContent("12,3 дБ");
    expect(report).toHaveTextContent("0,40 %");
    expect(report).toHaveTextContent("Слишком тихо: -35 LUFS.");
    expect(screen.getByTestId("wizard-next")).toBeDisabled();
    const form = await server.calls("POST /api/voices")[0].form();
    expect(form.get("name")).toMatch(/^Голос /);

    const longer = fileReport({ name: "long.mp3", duration_s: 320, usable_s: 295 });
    voiceJob(server, "POST /api/voices/v1/samples", "e2", { result: { voice: voiceInfo({ current_version: 2, usable_s: 307.5 }), report: voiceReport({ files: [quiet, longer] }) } });
    await user.upload(screen.getByTestId("voice-input"), [new File([new Uint8Array(100)], "long.mp3", { type: "audio/mpeg" })]);
    await waitFor(() => expect(screen.getByTestId("voice-enough")).toHaveAttribute("data-level", "good"));
    expect(screen.getAllByTestId("voice-file")).toHaveLength(2);
    expect(screen.getByTestId("voice-enough")).toHaveTextContent("Отлично");
    expect(screen.getByTestId("wizard-next")).toBeEnabled();
    expect(server.calls("POST /api/voices")).toHaveLength(1);
    expect(((await server.calls("POST /api/voices/v1/samples")[0].form()).get("files") as File).name).toBe("long.mp3");
  });

  it("shows why refused files were not accepted and keeps the earlier report", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await user.upload(screen.getByTestId("voice-input"), [wav()]);
    await waitFor(() => expect(screen.getByTestId("voice-enough")).toHaveAttribute("data-level", "enough"));

    const refused = voiceReport({ files: [fileReport({ name: "music.ogg", usable_s: 0, accepted: false, problems: ["Похоже на музыку, а не на речь."] })], usable_s: 0 });
    const rejection = { code: "voice_rejected", message: "Ни один файл не подходит для голоса.", detail: "No uploaded file contains usable speech.", report: refused };
    voiceJob(server, "POST /api/voices/v1/samples", "e3", { error: rejection });
    await user.upload(screen.getByTestId("voice-input"), [new File([new Uint8Array(10)], "music.ogg", { type: "audio/ogg" })]);
    expect(await screen.findByTestId("voice-error")).toHaveTextContent("Ни один файл не подходит для голоса.");
    expect(screen.getByTestId("voice-report")).toHaveTextContent("Похоже на музыку, а не на речь.");
    expect(screen.getByTestId("voice-enough")).toHaveAttribute("data-level", "enough");
    // A refusal is final: no retry of the same files; the earlier voice still counts.
    expect(screen.queryByRole("button", { name: "Повторить" })).not.toBeInTheDocument();
    expect(screen.getByTestId("wizard-next")).toBeEnabled();
  });

  it("an upload the busy server refused can be retried with the same files", async () => {
    server.on("POST /api/voices", errorReply(503, "busy", "Сервер занят, попробуйте позже."));
    const { user } = renderWizard(server);
    await passPhoto(user);
    await user.upload(screen.getByTestId("voice-input"), [wav()]);
    expect(await screen.findByTestId("voice-error")).toHaveTextContent("Сервер занят, попробуйте позже.");
    voiceJob(server, "POST /api/voices", "e4", { result: { voice: voiceInfo(), report: voiceReport() } });
    await user.click(screen.getByRole("button", { name: "Повторить" }));
    await waitFor(() => expect(screen.getByTestId("voice-enough")).toHaveAttribute("data-level", "enough"));
    expect(server.calls("POST /api/voices")).toHaveLength(2);
  });

  it("can be skipped: the persona gets no voice and the preparation step is skipped", async () => {
    server.on("POST /api/render", { body: Buffer.from("mp4"), headers: { "Content-Type": "video/mp4" } });
    const { user } = renderWizard(server);
    await passPhoto(user);
    expect(screen.getByText(/встроенным синтезированным голосом/)).toBeInTheDocument();
    await user.click(screen.getByTestId("voice-skip"));
    await user.type(await screen.findByTestId("persona-name"), "Оля");
    await user.type(screen.getByTestId("persona-age"), "22");
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("wizard-finish");
    expect(screen.getByTestId("wizard")).toHaveAttribute("data-step", "test");
    expect(server.calls("POST /api/personas")[0].json()).toMatchObject({ name: "Оля", age: 22, voice_id: null, avatar_id: "a1" });
    expect(server.calls("POST /api/voices/v1/prepare")).toHaveLength(0);
    await screen.findByTestId("test-video");
    const render = await server.calls("POST /api/render")[0].form();
    expect(render.get("voice_id")).toBeNull();
    expect(render.get("text")).toBe("Привет! Меня зовут Оля. Рада познакомиться!");
  });
});
