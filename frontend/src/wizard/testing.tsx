/** Test helpers: the wizard wired to an in-process server, and walking it to a step. */
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect } from "vitest";
import { PersonaProvider } from "../state/persona";
import { TestProviders } from "../test/providers";
import { errorReply, type TestServer } from "../test/server";
import { persona, ttsVoices, voiceInfo, voiceReport } from "../test/fixtures";
import { Wizard } from "./Wizard";

export function renderWizard(server: TestServer) {
  const user = userEvent.setup();
  const view = render(
    <TestProviders client={server.client}>
      <PersonaProvider>
        <Wizard />
      </PersonaProvider>
    </TestProviders>,
  );
  return { user, ...view };
}

export const jpeg = () => new File([new Uint8Array(2048).fill(255)], "face.jpg", { type: "image/jpeg" });
export const wav = (name = "voice.wav", size = 4096) => new File([new Uint8Array(size)], name, { type: "audio/wav" });

export type VoiceJobOutcome = { result: object } | { error: object };

/**
 * A voice upload to `route` as the server answers it: 202 with job `id`, whose polls step through
 * `messages` (the analysis of each file) and then end with the outcome.
 */
export function voiceJob(server: TestServer, route: string, id: string, outcome: VoiceJobOutcome, messages: string[] = []) {
  server.on(route, { status: 202, json: { job_id: id, status_url: `/api/jobs/${id}` } });
  let polls = 0;
  server.on(`GET /api/jobs/${id}`, () => {
    polls += 1;
    const job = { id, kind: "voice_enroll", warnings: [], timings: null };
    if (polls <= messages.length) {
      return { json: { ...job, status: "running", progress: (polls - 1) / messages.length, message: messages[polls - 1], error: null, result: null } };
    }
    if ("result" in outcome) return { json: { ...job, status: "done", progress: 1, message: "Готово", error: null, result: outcome.result } };
    return { json: { ...job, status: "error", progress: 0, message: "Ошибка", error: outcome.error, result: null } };
  });
}

/** Handlers for a happy path: avatar, voice (enough), personas, the standard voices. */
export function happyServer(server: TestServer) {
  server.on("GET /api/personas", { json: [persona()] });
  server.on("GET /api/tts/voices", { json: ttsVoices() });
  server.on("POST /api/avatars", { json: { avatar_id: "a1", warnings: [], face_px: 256, crop_url: "/api/avatars/a1/crop.png" } });
  voiceJob(server, "POST /api/voices", "e1", { result: { voice: voiceInfo(), report: voiceReport() } });
  server.on("POST /api/personas", (req) => ({ status: 201, json: persona({ id: 5, ...req.json<object>() }) }));
  server.on("PUT /api/personas/5", (req) => ({ json: persona({ id: 5, ...req.json<object>() }) }));
  server.on("GET /api/avatars/a1/crop.png", { body: "png", headers: { "Content-Type": "image/png" } });
  return server;
}

export async function passPhoto(user: ReturnType<typeof userEvent.setup>) {
  await user.upload(screen.getByTestId("photo-input"), jpeg());
  await screen.findByTestId("photo-preview");
  await user.click(screen.getByTestId("wizard-next"));
  await screen.findByTestId("voice-input");
}

export async function passVoice(user: ReturnType<typeof userEvent.setup>) {
  await user.upload(screen.getByTestId("voice-input"), [wav()]);
  await waitFor(() => expect(screen.getByTestId("wizard-next")).toBeEnabled());
  await user.click(screen.getByTestId("wizard-next"));
  await screen.findByTestId("persona-name");
}

export async function fillCharacter(user: ReturnType<typeof userEvent.setup>, name = "Маша", age = "30") {
  await user.type(screen.getByTestId("persona-name"), name);
  await user.type(screen.getByTestId("persona-age"), age);
  await user.type(screen.getByTestId("persona-greeting"), "Привет, я Маша!");
}

export { errorReply };
