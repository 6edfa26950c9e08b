import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import type { Persona } from "../api/types";
import { conversationReducer, initialConversationState, type ConversationAction } from "../realtime/state";
import { ConversationServer } from "../realtime/testing/conversationServer";
import { errorEvent, readyEvent, timingsEvent, transcriptEvent } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import { PersonaProvider } from "../state/persona";
import { installBrowserAudio, uninstallBrowserAudio } from "../media/testing/fakeAudio";
import Conversation from "./Conversation";
import { ConversationView } from "./ConversationView";
import { resetLobby } from "./lobbyGate";

const persona: Persona = {
  id: 1,
  name: "Алиса",
  age: 30,
  gender: "female",
  temperament: "спокойная",
  interests: ["книги"],
  speech_style: "",
  greeting: "Привет!",
  notes: "",
  language: "ru",
  avatar_id: "0123456789abcdef",
  voice_id: null,
  tts_voice: null,
  created_at: "2024-01-01T00:00:00",
  updated_at: "2024-01-01T00:00:00",
};

function stateOf(actions: ConversationAction[]) {
  return actions.reduce(conversationReducer, initialConversationState);
}

function renderView(actions: ConversationAction[]) {
  const sent: string[] = [];
  let stops = 0;
  render(
    <ConversationView
      state={stateOf(actions)}
      personaName="Алиса"
      video={<video data-testid="avatar-video" muted />}
      mic={<button data-testid="mic-ptt">mic</button>}
      speaking={false}
      onSendText={(t) => {
        sent.push(t);
        return true;
      }}
      onStop={() => stops++}
      onDismissError={() => undefined}
    />,
  );
  return { sent, stops: () => stops };
}

const ready: ConversationAction = {
  type: "ready",
  data: readyEvent({ session_id: 4 }),
};

describe("ConversationView", () => {
  it("renders history, live transcript, emotion and per-stage timings from the state", () => {
    renderView([
      { type: "connection", state: "connected" },
      ready,
      { type: "transcript", data: transcriptEvent("Как дела?", true) },
      { type: "reply", data: { turn: 1, index: 0, text: "Отлично!", emotion: "happy" } },
      { type: "reply", data: { turn: 1, index: 1, text: " А у тебя?", emotion: "surprised" } },
      { type: "turn_end", data: { turn: 1, reason: "done", timings: { asr_s: 0.25, first_token_s: 0.5, tts_s: 1.234, talking_head_s: 0.4, first_segment_s: 1.5, total_s: 3 } } },
      { type: "speech_start" },
      { type: "transcript", data: transcriptEvent("а ещё", false) },
    ]);
    const items = screen.getAllByTestId("history-item");
    expect(items.map((i) => i.dataset.role)).toEqual(["user", "assistant"]);
    expect(items[1]).toHaveTextContent("Отлично! А у тебя?");
    expect(screen.getByTestId("live-transcript")).toHaveTextContent("а ещё");
    expect(screen.getByTestId("live-transcript")).toHaveAttribute("data-final", "false");
    const emotion = screen.getByTestId("emotion");
    expect(emotion).toHaveAttribute("data-emotion", "surprised");
    expect(emotion).toHaveTextContent("удивление");
    const timings = screen.getByTestId("timings");
    expect(within(timings).getByTestId("timing-asr")).toHaveTextContent("250 мс");
    expect(within(timings).getByTestId("timing-llm")).toHaveTextContent("500 мс");
    expect(within(timings).getByTestId("timing-tts")).toHaveTextContent("1,23 с");
    expect(within(timings).getByTestId("timing-video")).toHaveTextContent("400 мс");
    expect(within(timings).getByTestId("timing-first_segment")).toHaveTextContent("1,50 с");
    expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected");
  });

  it("sends text with Enter, disables input while not live, and shows errors in Russian", async () => {
    const user = userEvent.setup();
    const { sent } = renderView([{ type: "connection", state: "connected" }, ready, { type: "error", data: errorEvent("rate_limited", "Слишком много вопросов подряд. Подождите 3 с.") }]);
    await user.type(screen.getByTestId("text-input"), "Привет{Enter}");
    expect(sent).toEqual(["Привет"]);
    expect(screen.getByTestId("text-input")).toHaveValue("");
    expect(screen.getByTestId("conversation-error")).toHaveTextContent("Подождите 3 с.");
  });

  it("is not live before ready: no sending, stop disabled", () => {
    renderView([{ type: "connection", state: "reconnecting" }]);
    expect(screen.getByTestId("text-send")).toBeDisabled();
    expect(screen.getByTestId("stop-button")).toBeDisabled();
    expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "reconnecting");
  });
});

function renderApp(url: string) {
  render(
    <TestProviders client={new ApiClient({ baseUrl: url, token: null })}>
      <PersonaProvider>
        <Conversation />
      </PersonaProvider>
    </TestProviders>,
  );
}

describe("Conversation against a real Socket.IO server", () => {
  let server: ConversationServer | null = null;
  beforeEach(() => resetLobby());
  afterEach(async () => {
    uninstallBrowserAudio();
    await server?.stop();
    server = null;
  });

  it("continues the persona's session after the lobby, loads its history, talks, stops and reconnects", async () => {
    const past = [
      { id: 1, session_id: 42, role: "user", text: "Как тебя зовут?", emotion: null, timings: null, created_at: "2024-01-01T00:00:00" },
      { id: 2, session_id: 42, role: "assistant", text: "Меня зовут Алиса.", emotion: "happy", timings: null, created_at: "2024-01-01T00:00:01" },
    ];
    server = await new ConversationServer({ personas: [persona], messages: { 42: past }, knownSessions: new Set([42]) }).start();
    localStorage.setItem("avatar.session.1", "42");
    const user = userEvent.setup();
    renderApp(server.url);
    const s = server;
    // the socket connects, but nothing starts before the click (a returning session too: sound must be unlocked)
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected"), { timeout: 5000 });
    expect(screen.getByTestId("lobby")).toHaveTextContent("Алиса");
    expect(screen.getByTestId("lobby")).toHaveTextContent("Продолжим");
    await new Promise((r) => setTimeout(r, 100));
    expect(s.of("start")).toHaveLength(0);
    await user.click(screen.getByTestId("lobby-start"));
    await waitFor(() => expect(screen.queryByTestId("lobby")).toBeNull(), { timeout: 5000 });
    await waitFor(() => expect(screen.getAllByTestId("history-item")).toHaveLength(2), { timeout: 5000 });
    // jsdom records nothing (no MediaRecorder, no AudioWorklet): the default format is announced, nothing is sent in it
    expect(s.of("start")[0].data).toEqual({ persona_id: 1, avatar_id: "0123456789abcdef", session_id: 42, audio_format: "webm" });
    expect(screen.getByTestId("persona-name")).toHaveTextContent("Алиса");
    // jsdom has no Media Source Extensions: the player says so in Russian instead of showing black
    expect(screen.getByTestId("player-error")).toHaveTextContent("Браузер не поддерживает потоковое видео");

    await waitFor(() => expect(screen.getByTestId("stop-button")).not.toBeDisabled());
    await user.type(screen.getByTestId("text-input"), "Расскажи о себе{Enter}");
    await s.waitFor(() => s.of("text").length === 1, 5000, "text");
    expect(s.of("text")[0].data).toEqual({ text: "Расскажи о себе" });
    expect(screen.getByTestId("thinking")).toHaveTextContent("Думает…");

    act(() => {
      s.emit("reply", { turn: 1, index: 0, text: "Я люблю книги.", emotion: "happy" });
      s.emit("timings", timingsEvent(1, { first_token_s: 0.2, first_segment_s: 0.7, total_s: 0.8 }));
    });
    await waitFor(() => expect(screen.getAllByTestId("history-item")).toHaveLength(4));
    expect(screen.getAllByTestId("history-item")[3]).toHaveTextContent("Я люблю книги.");
    expect(screen.getByTestId("emotion")).toHaveAttribute("data-emotion", "happy");
    expect(screen.getByTestId("timing-first_segment")).toHaveTextContent("700 мс");

    fireEvent.click(screen.getByTestId("stop-button"));
    await s.waitFor(() => s.of("stop").length === 1, 5000, "stop");
    act(() => s.emit("interrupted", { turn: 1, reason: "stop", media_time: 3.2 }));
    await waitFor(() => expect(screen.getAllByTestId("history-item")[3]).toHaveTextContent("прервано"));
    expect(screen.queryByTestId("thinking")).toBeNull();

    await s.stop();
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "reconnecting"), { timeout: 5000 });
    await waitFor(() => expect(screen.getByTestId("conversation-error")).toHaveTextContent("Нет связи с сервером"), { timeout: 5000 });
    await s.start(s.port);
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected"), { timeout: 15000 });
    // the banner about the lost connection goes with it
    expect(screen.queryByTestId("conversation-error")).toBeNull();
    await s.waitFor(() => s.of("start").length === 2, 5000, "start after reconnect");
    expect(s.of("start")[1].data).toMatchObject({ session_id: 42 });
    expect(s.of("start")[1].data).not.toHaveProperty("greet");
    expect(screen.queryByTestId("lobby")).toBeNull(); // no lobby after a reconnect
    expect(screen.getAllByTestId("history-item")).toHaveLength(4); // history is not loaded twice
    expect(localStorage.getItem("avatar.session.1")).toBe("42");
  }, 30000);

  it("greets a new session only after the lobby's click, shows the microphone's level, and remembers the session", async () => {
    const mic = installBrowserAudio();
    server = await new ConversationServer({ personas: [persona] }).start();
    renderApp(server.url);
    const s = server;
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected"), { timeout: 5000 });
    expect(screen.getByTestId("lobby")).toHaveTextContent("Микрофон нужен, чтобы аватар вас слышал");
    await new Promise((r) => setTimeout(r, 100));
    expect(s.of("start")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("lobby-start"));
    await waitFor(() => expect(Number(screen.getByTestId("mic-level").dataset.level)).toBeGreaterThan(0.3));
    expect(mic.calls).toBe(1);
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ persona_id: 1, greet: true, audio_format: "webm" });
    await waitFor(() => expect(screen.queryByTestId("lobby")).toBeNull(), { timeout: 5000 });
    await waitFor(() => expect(localStorage.getItem("avatar.session.1")).toBe("100"));
    await s.waitFor(() => s.of("GET /api/sessions/100/messages").length === 1, 5000, "history request");
  });

  it("starts anyway when the microphone is refused, and says how to allow it", async () => {
    installBrowserAudio({ deny: "NotAllowedError" });
    server = await new ConversationServer({ personas: [persona] }).start();
    renderApp(server.url);
    const s = server;
    fireEvent.click(await screen.findByTestId("lobby-start", {}, { timeout: 5000 }));
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ greet: true });
    await waitFor(() => expect(screen.queryByTestId("lobby")).toBeNull(), { timeout: 5000 });
    expect(screen.getByTestId("mic-error")).toHaveTextContent("разрешите микрофон для этого сайта");
    await waitFor(() => expect(screen.getByTestId("text-input")).not.toBeDisabled());
  });

  it("announces pcm16 with its sample rate where MediaRecorder makes neither webm nor ogg (Safari)", async () => {
    installBrowserAudio({ recorderTypes: ["audio/mp4"], audioWorklet: true });
    server = await new ConversationServer({ personas: [persona] }).start();
    renderApp(server.url);
    const s = server;
    fireEvent.click(await screen.findByTestId("lobby-start", {}, { timeout: 5000 }));
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ audio_format: "pcm16", sample_rate: 16000 });
  });

  it("continues the session named in #/talk?session=, cleans the hash, and pages older history", async () => {
    const many = Array.from({ length: 45 }, (_, i) => ({
      id: i + 1,
      session_id: 9,
      role: i % 2 ? "assistant" : "user",
      text: `Сообщение ${i + 1}`,
      emotion: null,
      timings: null,
      created_at: "2024-01-01T00:00:00",
    }));
    server = await new ConversationServer({ personas: [persona], messages: { 9: many }, knownSessions: new Set([9]) }).start();
    localStorage.setItem("avatar.session.1", "42");
    window.location.hash = "#/talk?session=9";
    const user = userEvent.setup();
    renderApp(server.url);
    const s = server;
    await waitFor(() => expect(window.location.hash).toBe("#/talk"));
    await user.click(await screen.findByTestId("lobby-start", {}, { timeout: 5000 }));
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ session_id: 9 });
    expect(s.of("start")[0].data).not.toHaveProperty("greet");
    await waitFor(() => expect(screen.getAllByTestId("history-item")).toHaveLength(30), { timeout: 5000 });
    expect(screen.getAllByTestId("history-item")[0]).toHaveTextContent("Сообщение 16");
    await user.click(screen.getByTestId("history-older"));
    await waitFor(() => expect(screen.getAllByTestId("history-item")).toHaveLength(45));
    expect(screen.getAllByTestId("history-item")[0]).toHaveTextContent("Сообщение 1");
    expect(s.of("GET /api/sessions/9/messages?before=16&limit=30")).toHaveLength(1);
    expect(screen.queryByTestId("history-older")).toBeNull();
  });

  it("starts a new conversation with the greeting for #/talk?new=1", async () => {
    server = await new ConversationServer({ personas: [persona], knownSessions: new Set([42]) }).start();
    localStorage.setItem("avatar.session.1", "42");
    window.location.hash = "#/talk?new=1";
    renderApp(server.url);
    const s = server;
    fireEvent.click(await screen.findByTestId("lobby-start", {}, { timeout: 5000 }));
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ greet: true });
    expect(s.of("start")[0].data).not.toHaveProperty("session_id");
    expect(window.location.hash).toBe("#/talk");
  });
});
