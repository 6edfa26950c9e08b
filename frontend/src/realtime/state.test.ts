import { describe, expect, it } from "vitest";
import { errorEvent, readyEvent, timingsEvent, transcriptEvent } from "../test/fixtures";
import { conversationReducer, initialConversationState, type ConversationAction, type ConversationState } from "./state";

const ready = (session_id = 5): ConversationAction => ({
  type: "ready",
  data: readyEvent({ session_id, warnings: ["Лицо маленькое"] }),
});

function run(actions: ConversationAction[], from: ConversationState = initialConversationState): ConversationState {
  return actions.reduce(conversationReducer, from);
}

describe("conversationReducer", () => {
  it("joins streamed reply chunks per turn and keeps the latest emotion", () => {
    const s = run([
      { type: "connection", state: "connected" },
      ready(),
      { type: "reply", data: { turn: 1, index: 0, text: "Привет!", emotion: "happy" } },
      { type: "reply", data: { turn: 1, index: 1, text: " Я рада тебя видеть.", emotion: "happy" } },
      { type: "reply", data: { turn: 1, index: 2, text: " Как дела?", emotion: "thinking" } },
    ]);
    expect(s.history).toHaveLength(1);
    expect(s.history[0]).toMatchObject({ role: "assistant", text: "Привет! Я рада тебя видеть. Как дела?", pending: true });
    expect(s.emotion).toBe("thinking");
    expect(s.activeTurn).toBe(1);
    expect(s.warnings).toEqual(["Лицо маленькое"]);
    expect(s.live).toBe(true);
  });

  it("shows partial transcripts live and adds the final one to the history", () => {
    let s = run([ready(), { type: "speech_start" }]);
    expect(s.listening).toBe(true);
    s = run([{ type: "transcript", data: transcriptEvent("как тебя", false) }], s);
    expect(s.transcript).toEqual({ text: "как тебя", final: false });
    expect(s.history).toHaveLength(0);
    s = run([{ type: "transcript", data: transcriptEvent(" Как тебя зовут? ", true) }], s);
    expect(s.transcript).toEqual({ text: " Как тебя зовут? ", final: true });
    expect(s.listening).toBe(false);
    expect(s.history).toMatchObject([{ role: "user", text: "Как тебя зовут?" }]);
    s = run([{ type: "transcript", data: transcriptEvent("", true) }], s); // silence: nothing to add
    expect(s.history).toHaveLength(1);
  });

  it("ends turns with their timings, marks interruptions and errors", () => {
    const s = run([
      ready(),
      { type: "user_text", text: "Расскажи сказку" },
      { type: "reply", data: { turn: 1, index: 0, text: "Жил-был кот.", emotion: "neutral" } },
      { type: "timings", data: timingsEvent(1, { first_token_s: 0.3, first_segment_s: 1.1, total_s: 1.2 }) },
      { type: "interrupted", data: { turn: 1, reason: "stop", media_time: 4.2 } },
      { type: "user_text", text: "Ещё раз" },
      { type: "reply", data: { turn: 2, index: 0, text: "Хорошо.", emotion: "happy" } },
      { type: "turn_end", data: { turn: 2, reason: "error", timings: { total_s: 2, tts_s: 0.5 } } },
    ]);
    expect(s.history.map((h) => [h.role, h.text, !!h.interrupted, !!h.failed, !!h.pending])).toEqual([
      ["user", "Расскажи сказку", false, false, false],
      ["assistant", "Жил-был кот.", true, false, false],
      ["user", "Ещё раз", false, false, false],
      ["assistant", "Хорошо.", false, true, false],
    ]);
    expect(s.timings).toEqual({ total_s: 2, tts_s: 0.5 });
    expect(s.timingsTurn).toBe(2);
    expect(s.activeTurn).toBeNull();
  });

  it("joins a question cut at a pause with its rest, dropping the reply that was never heard", () => {
    const s = run([
      ready(),
      { type: "transcript", data: transcriptEvent("Можно ли помнить эту ночь,", true) },
      { type: "reply", data: { turn: 1, index: 0, text: "Конечно!", emotion: "happy" } },
      { type: "interrupted", data: { turn: 1, reason: "continued", media_time: 2 } },
      { type: "transcript", data: transcriptEvent("где-то там, в небе?", true) },
      { type: "reply", data: { turn: 2, index: 0, text: "Да, можно.", emotion: "neutral" } },
    ]);
    expect(s.history.map((h) => [h.role, h.text])).toEqual([
      ["user", "Можно ли помнить эту ночь, где-то там, в небе?"],
      ["assistant", "Да, можно."],
    ]);
    expect(s.continuing).toBe(false);
  });

  it("merges the first-segment timings with the turn_end timings of the same turn", () => {
    const s = run([
      ready(),
      { type: "timings", data: { turn: 1, first_segment_s: 0.8, queued_before_first_segment_s: 0.1 } },
      { type: "turn_end", data: { turn: 1, reason: "done", timings: { total_s: 3 } } },
    ]);
    expect(s.timings).toEqual({ first_segment_s: 0.8, queued_before_first_segment_s: 0.1, total_s: 3 });
  });

  it("keeps turns of different server sessions apart after a reconnect", () => {
    const s = run([
      ready(),
      { type: "reply", data: { turn: 1, index: 0, text: "Первый ответ", emotion: "neutral" } },
      { type: "connection", state: "connected" },
      { type: "connection", state: "reconnecting" },
      ready(), // the server numbers turns from 1 again
      { type: "reply", data: { turn: 1, index: 0, text: "Второй ответ", emotion: "neutral" } },
    ]);
    expect(s.history.map((h) => h.text)).toEqual(["Первый ответ", "Второй ответ"]);
    expect(s.history[0]).toMatchObject({ pending: false, interrupted: true });
    expect(s.epoch).toBe(2);
    expect(s.sessionId).toBe(5);
  });

  it("goes not live when the connection drops", () => {
    const s = run([ready(), { type: "connection", state: "reconnecting" }]);
    expect(s.live).toBe(false);
    expect(s.connection).toBe("reconnecting");
  });

  it("puts loaded past messages before this screen's messages, once per session", () => {
    let s = run([ready(9), { type: "user_text", text: "Новое" }]);
    const items = [
      { id: 1, role: "user", text: "Старый вопрос", emotion: null, timings: null },
      { id: 2, role: "assistant", text: "Старый ответ", emotion: "sad", timings: { total_s: 1 } },
    ];
    s = run([{ type: "history", sessionId: 9, items }], s);
    expect(s.history.map((h) => [h.key, h.role, h.text])).toEqual([
      ["m1", "user", "Старый вопрос"],
      ["m2", "assistant", "Старый ответ"],
      ["u1", "user", "Новое"],
    ]);
    expect(run([{ type: "history", sessionId: 9, items }], s).history).toHaveLength(3);
  });

  it("drops a connection or busy error once the conversation is ready again, keeps others", () => {
    const lost: ConversationAction = { type: "error", data: errorEvent("connect_failed", "Нет связи с сервером.") };
    let s = run([ready(), { type: "connection", state: "reconnecting" }, lost, { type: "connection", state: "connected" }, ready()]);
    expect(s.error).toBeNull();
    s = run([{ type: "error", data: errorEvent("busy", "Сервер занят.", { retry_after_s: 5 }) }, ready()]);
    expect(s.error).toBeNull();
    s = run([{ type: "error", data: errorEvent("bad_audio", "Не удалось прочитать аудио.") }, ready()]);
    expect(s.error?.code).toBe("bad_audio");
  });

  it("keeps the latest error until dismissed", () => {
    let s = run([{ type: "error", data: errorEvent("rate_limited", "Слишком много вопросов подряд. Подождите 5 с.") }]);
    expect(s.error?.message).toContain("Подождите");
    s = run([{ type: "dismiss_error" }], s);
    expect(s.error).toBeNull();
  });
});

describe("conversationReducer: first contact", () => {
  it("clears the «no connection» banner as soon as the socket is connected again", () => {
    const s = run([
      { type: "connection", state: "connected" },
      ready(),
      { type: "connection", state: "reconnecting" },
      { type: "error", data: errorEvent("connect_failed", "Нет связи с сервером. Переподключаемся…") },
      { type: "connection", state: "connected" },
    ]);
    expect(s.error).toBeNull();
    // other errors stay until dismissed
    const t = run([{ type: "error", data: errorEvent("rate_limited", "Подождите.") }, { type: "connection", state: "connected" }]);
    expect(t.error?.code).toBe("rate_limited");
  });

  it("thinks from the user's question until the reply's speech is on screen", () => {
    const asked = run([{ type: "connection", state: "connected" }, ready(), { type: "transcript", data: transcriptEvent("Привет", true) }]);
    expect(asked.thinking).toBe(true);
    const replying = run([{ type: "reply", data: { turn: 1, index: 0, text: "Привет!", emotion: "happy" } }], asked);
    expect(replying.thinking).toBe(true); // the text came, the avatar is not speaking yet
    expect(run([{ type: "speech_shown" }], replying).thinking).toBe(false);
    expect(run([{ type: "turn_end", data: { turn: 1, reason: "error", timings: {} } }], replying).thinking).toBe(false);
    expect(run([{ type: "interrupted", data: { turn: 1, reason: "stop", media_time: 0 } }], replying).thinking).toBe(false);
    expect(run([{ type: "interrupted", data: { turn: 1, reason: "new_turn", media_time: 0 } }], replying).thinking).toBe(true);
    expect(run([{ type: "user_text", text: "Ещё" }]).thinking).toBe(true);
    expect(run([{ type: "transcript", data: transcriptEvent("   ", true) }]).thinking).toBe(false); // nothing heard: no turn
    expect(run([{ type: "connection", state: "reconnecting" }], asked).thinking).toBe(false);
  });

  it("prepends older history pages and remembers where the next one starts", () => {
    const msg = (id: number) => ({ id, role: id % 2 ? "user" : "assistant", text: `m${id}` });
    const s = run([ready(7), { type: "history", sessionId: 7, items: [msg(3), msg(4)], nextBefore: 3 }]);
    expect(s.historyBefore).toBe(3);
    const older = run([{ type: "history_older", sessionId: 7, items: [msg(1), msg(2)], nextBefore: null }], s);
    expect(older.history.map((h) => h.text)).toEqual(["m1", "m2", "m3", "m4"]);
    expect(older.historyBefore).toBeNull();
    expect(run([{ type: "history_older", sessionId: 8, items: [msg(1)], nextBefore: null }], s)).toBe(s); // another session's page
  });
});
