import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api/client";
import type { Persona } from "../api/types";
import { conversationReducer, initialConversationState, type ConversationAction } from "../realtime/state";
import { ConversationServer } from "../realtime/testing/conversationServer";
import { errorEvent, readyEvent, timingsEvent, transcriptEvent } from "../test/fixtures";
import { TestProviders } from "../test/providers";
import { PersonaProvider } from "../state/persona";
import Conversation from "./Conversation";
import { ConversationView } from "./ConversationView";

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

describe("Conversation against a real Socket.IO server", () => {
  let server: ConversationServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it("continues the persona's session, loads its history, talks, stops and reconnects", async () => {
    const past = [
      { id: 1, session_id: 42, role: "user", text: "Как тебя зовут?", emotion: null, timings: null, created_at: "2024-01-01T00:00:00" },
      { id: 2, session_id: 42, role: "assistant", text: "Меня зовут Алиса.", emotion: "happy", timings: null, created_at: "2024-01-01T00:00:01" },
    ];
    server = await new ConversationServer({ personas: [persona], messages: { 42: past }, knownSessions: new Set([42]) }).start();
    localStorage.setItem("avatar.session.1", "42");
    const user = userEvent.setup();
    render(
      <TestProviders client={new ApiClient({ baseUrl: server.url, token: null })}>
        <PersonaProvider>
          <Conversation />
        </PersonaProvider>
      </TestProviders>,
    );
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected"), { timeout: 5000 });
    await waitFor(() => expect(screen.getAllByTestId("history-item")).toHaveLength(2), { timeout: 5000 });
    const s = server;
    expect(s.of("start")[0].data).toEqual({ persona_id: 1, avatar_id: "0123456789abcdef", session_id: 42, audio_format: "webm" });
    expect(screen.getByTestId("persona-name")).toHaveTextContent("Алиса");
    // jsdom has no Media Source Extensions: the player says so in Russian instead of showing black
    expect(screen.getByTestId("player-error")).toHaveTextContent("Браузер не поддерживает потоковое видео");

    await waitFor(() => expect(screen.getByTestId("stop-button")).not.toBeDisabled());
    await user.type(screen.getByTestId("text-input"), "Расскажи о себе{Enter}");
    await s.waitFor(() => s.of("text").length === 1, 5000, "text");
    expect(s.of("text")[0].data).toEqual({ text: "Расскажи о себе" });

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

    await s.stop();
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "reconnecting"), { timeout: 5000 });
    await s.start(s.port);
    await waitFor(() => expect(screen.getByTestId("connection-state")).toHaveAttribute("data-state", "connected"), { timeout: 15000 });
    await s.waitFor(() => s.of("start").length === 2, 5000, "start after reconnect");
    expect(s.of("start")[1].data).toMatchObject({ session_id: 42 });
    expect(screen.getAllByTestId("history-item")).toHaveLength(4); // history is not loaded twice
    expect(localStorage.getItem("avatar.session.1")).toBe("42");
  }, 30000);

  it("greets in a new session and remembers it", async () => {
    server = await new ConversationServer({ personas: [persona] }).start();
    render(
      <TestProviders client={new ApiClient({ baseUrl: server.url, token: null })}>
        <PersonaProvider>
          <Conversation />
        </PersonaProvider>
      </TestProviders>,
    );
    const s = server;
    await s.waitFor(() => s.of("start").length === 1, 5000, "start");
    expect(s.of("start")[0].data).toMatchObject({ persona_id: 1, greet: true });
    await waitFor(() => expect(localStorage.getItem("avatar.session.1")).toBe("100"));
    await s.waitFor(() => s.of("GET /api/sessions/100/messages").length === 1, 5000, "history request");
  });
});
