import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeAudio, installFakeAudio, type FakeAudioEnv } from "../test/audio";
import { ttsVoices } from "../test/fixtures";
import { startServer, type TestServer } from "../test/server";
import { errorReply, fillCharacter, happyServer, passPhoto, renderWizard } from "./testing";

let server: TestServer;
let audio: FakeAudioEnv;
const WAV = Buffer.from("RIFF----WAVEfmt ");

beforeEach(async () => {
  server = happyServer(await startServer());
  server.on("POST /api/render", { body: Buffer.from("mp4"), headers: { "Content-Type": "video/mp4" } });
  audio = installFakeAudio();
});
afterEach(async () => {
  audio.restore();
  await server.close();
});

const row = (name: string) => screen.getAllByTestId("tts-voice").find((li) => li.dataset.voice === name) as HTMLElement;

describe("standard voice picker", () => {
  it("lists the voices with their gender, marks the non-commercial ones and preselects the gender's default", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    const picker = await screen.findByTestId("tts-voices");
    expect(picker).toHaveTextContent("Без записей аватар говорит этим голосом, а с записями это основа, которую «подстройка голоса» приближает к записанному голосу.");
    expect(screen.getAllByTestId("tts-voice").map((li) => li.dataset.voice)).toEqual(["anna", "elena", "aleksandr", "arina", "pavel"]);
    expect(row("anna")).toHaveTextContent("Анна");
    expect(row("anna")).toHaveTextContent("женский");
    expect(row("aleksandr")).toHaveTextContent("мужской");
    // the licence caveat only on the non-commercial voices, with the licence
    expect(within(row("arina")).getByTestId("voice-noncommercial")).toHaveTextContent("только для некоммерческого использования (CC-BY-NC-ND-4.0)");
    expect(within(row("pavel")).getByTestId("voice-noncommercial")).toBeInTheDocument();
    expect(within(row("anna")).queryByTestId("voice-noncommercial")).not.toBeInTheDocument();
    expect(screen.getAllByTestId("voice-noncommercial")).toHaveLength(2);
    // the persona is female until the character step says otherwise
    expect(within(row("anna")).getByRole("radio")).toBeChecked();
    expect(screen.getAllByRole("radio", { checked: true })).toHaveLength(1);
    expect(screen.getAllByRole("button", { name: "Послушать" })).toHaveLength(5);
  });

  it("plays a voice's preview, one at a time, and frees the samples", async () => {
    server.on("POST /api/tts/preview", { body: WAV, headers: { "Content-Type": "audio/wav" }, delayMs: 50 });
    const { user } = renderWizard(server);
    await passPhoto(user);
    await screen.findByTestId("tts-voices");

    await user.click(within(row("elena")).getByRole("button", { name: "Послушать" }));
    // fetching: the button is busy
    expect(screen.getByTestId("voice-preview-elena")).toHaveAttribute("aria-busy", "true");
    await waitFor(() => expect(screen.getByTestId("voice-preview-elena")).toHaveTextContent("Остановить"));
    expect(server.calls("POST /api/tts/preview")).toHaveLength(1);
    expect(server.calls("POST /api/tts/preview")[0].json()).toEqual({ voice: "elena", text: null });
    expect(server.calls("POST /api/tts/preview")[0].headers["content-type"]).toBe("application/json");
    expect(FakeAudio.instances).toHaveLength(1);
    const first = FakeAudio.instances[0];
    expect(first.play).toHaveBeenCalledTimes(1);
    expect(first.src).toMatch(/^blob:/);
    const blob = audio.blobs.get(first.src) as Blob;
    expect(blob.size).toBe(WAV.length);
    expect(blob.type).toBe("audio/wav");
    // listening to a voice does not select it
    expect(within(row("anna")).getByRole("radio")).toBeChecked();

    // another voice stops the first one and revokes its URL
    await user.click(within(row("pavel")).getByRole("button", { name: "Послушать" }));
    expect(first.pause).toHaveBeenCalled();
    expect(audio.revoked).toContain(first.src);
    await waitFor(() => expect(FakeAudio.instances).toHaveLength(2));
    const second = FakeAudio.instances[1];
    await waitFor(() => expect(screen.getByTestId("voice-preview-pavel")).toHaveTextContent("Остановить"));
    expect(screen.getByTestId("voice-preview-elena")).toHaveTextContent("Послушать");
    expect(server.calls("POST /api/tts/preview")[1].json()).toEqual({ voice: "pavel", text: null });

    // played to the end: its URL is revoked, the button is back
    second.end();
    await waitFor(() => expect(screen.getByTestId("voice-preview-pavel")).toHaveTextContent("Послушать"));
    expect(audio.revoked).toContain(second.src);

    // a sample playing when the wizard goes away is stopped and freed
    await user.click(within(row("anna")).getByRole("button", { name: "Послушать" }));
    await waitFor(() => expect(screen.getByTestId("voice-preview-anna")).toHaveTextContent("Остановить"));
    const third = FakeAudio.instances[2];
    await user.click(screen.getByTestId("wizard-back"));
    await screen.findByTestId("photo-input");
    expect(third.pause).toHaveBeenCalled();
    expect(audio.revoked).toContain(third.src);
    // every sample URL was revoked
    expect(FakeAudio.instances.filter((a) => audio.live.has(a.src))).toEqual([]);
  });

  it("stops the sample playing when its button is clicked again", async () => {
    server.on("POST /api/tts/preview", { body: WAV, headers: { "Content-Type": "audio/wav" } });
    const { user } = renderWizard(server);
    await passPhoto(user);
    await screen.findByTestId("tts-voices");
    await user.click(within(row("anna")).getByRole("button", { name: "Послушать" }));
    await user.click(await within(row("anna")).findByRole("button", { name: "Остановить" }));
    expect(FakeAudio.instances[0].pause).toHaveBeenCalled();
    expect(within(row("anna")).getByRole("button", { name: "Послушать" })).toBeInTheDocument();
    expect(audio.revoked).toEqual([FakeAudio.instances[0].src]);
  });

  it("shows why a preview failed", async () => {
    server.on("POST /api/tts/preview", errorReply(503, "busy", "Сейчас озвучивается слишком много примеров. Попробуйте снова через 2 с."));
    const { user } = renderWizard(server);
    await passPhoto(user);
    await screen.findByTestId("tts-voices");
    await user.click(within(row("arina")).getByRole("button", { name: "Послушать" }));
    expect(await screen.findByTestId("tts-preview-error")).toHaveTextContent("Сейчас озвучивается слишком много примеров.");
    expect(FakeAudio.instances).toHaveLength(0);
    expect(screen.getByTestId("voice-preview-arina")).toHaveTextContent("Послушать");
    // the next attempt clears the error
    server.on("POST /api/tts/preview", { body: WAV, headers: { "Content-Type": "audio/wav" } });
    await user.click(within(row("arina")).getByRole("button", { name: "Послушать" }));
    await waitFor(() => expect(screen.queryByTestId("tts-preview-error")).not.toBeInTheDocument());
  });

  it("saves the picked voice as the persona's tts_voice", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await screen.findByTestId("tts-voices");
    await user.click(within(row("arina")).getByRole("radio"));
    expect(within(row("arina")).getByRole("radio")).toBeChecked();
    expect(within(row("anna")).getByRole("radio")).not.toBeChecked();
    await user.click(screen.getByTestId("voice-skip"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user);
    await user.selectOptions(screen.getByTestId("persona-gender"), "male"); // a pick is kept whatever the gender
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("wizard-finish");
    expect(server.calls("POST /api/personas")[0].json()).toMatchObject({ name: "Маша", gender: "male", voice_id: null, tts_voice: "arina" });
    // the greeting of the test step is spoken in it
    await screen.findByTestId("test-video");
    expect((await server.calls("POST /api/render")[0].form()).get("tts_voice")).toBe("arina");
  });

  it("without a pick, the persona gets the default voice of the gender chosen in the character step", async () => {
    const { user } = renderWizard(server);
    await passPhoto(user);
    await screen.findByTestId("tts-voices");
    await user.click(screen.getByTestId("voice-skip"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user, "Петя", "40");
    await user.selectOptions(screen.getByTestId("persona-gender"), "male");
    await user.click(screen.getByTestId("wizard-back"));
    // back on the voice step, the male default is selected now
    await screen.findByTestId("tts-voices");
    expect(within(row("aleksandr")).getByRole("radio")).toBeChecked();
    await user.click(screen.getByTestId("wizard-next"));
    await user.click(await screen.findByTestId("wizard-next"));
    await screen.findByTestId("wizard-finish");
    expect(server.calls("POST /api/personas")[0].json()).toMatchObject({ name: "Петя", gender: "male", tts_voice: "aleksandr" });
  });

  it("is hidden for an engine without standard voices", async () => {
    server.on("GET /api/tts/voices", { json: ttsVoices({ engine: "festival", voices: [], default: { female: null, male: null }, allow_noncommercial: false }) });
    const { user } = renderWizard(server);
    await passPhoto(user);
    await waitFor(() => expect(server.calls("GET /api/tts/voices").length).toBeGreaterThan(0));
    expect(screen.queryByTestId("tts-voices")).not.toBeInTheDocument();
    expect(screen.queryByTestId("tts-voices-error")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("voice-skip"));
    await screen.findByTestId("persona-name");
    await fillCharacter(user);
    await user.click(screen.getByTestId("wizard-next"));
    await screen.findByTestId("wizard-finish");
    expect(server.calls("POST /api/personas")[0].json()).toMatchObject({ tts_voice: null });
    await screen.findByTestId("test-video");
    expect((await server.calls("POST /api/render")[0].form()).get("tts_voice")).toBeNull();
  });
});
