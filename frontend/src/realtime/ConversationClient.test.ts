import { afterEach, describe, expect, it } from "vitest";
import { ConversationClient } from "./ConversationClient";
import { toBytes, type MediaEvent, type StartMessage } from "./protocol";
import { conversationReducer, initialConversationState, type ConversationAction, type ConversationState } from "./state";
import { ConversationServer, loadStreamFixture, segmentPayload } from "./testing/conversationServer";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(options = {}): Promise<ConversationServer> {
  const server = await new ConversationServer(options).start();
  cleanups.push(() => server.stop());
  return server;
}

function connect(server: ConversationServer, options: ConstructorParameters<typeof ConversationClient>[0] = {}) {
  const client = new ConversationClient({ url: server.url, transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 200, token: () => null, ...options });
  const actions: ConversationAction[] = [];
  const media: MediaEvent[] = [];
  let state: ConversationState = initialConversationState;
  client.on("action", (a) => {
    actions.push(a);
    state = conversationReducer(state, a);
  });
  client.on("media", (m) => media.push(m));
  cleanups.push(() => client.close());
  client.connect();
  return { client, actions, media, state: () => state };
}

describe("ConversationClient against a real Socket.IO server", () => {
  it("starts the session, receives ready, init and segments as bytes, and reduces events", async () => {
    const server = await serve();
    const c = connect(server, { personaId: 3, avatarId: "00112233aabbccdd", greet: true });
    await server.waitFor(() => c.state().live && c.media.length === 3, 5000, "ready and media");
    expect(server.of("start")[0].data).toEqual({ persona_id: 3, avatar_id: "00112233aabbccdd", audio_format: "webm", greet: true } satisfies StartMessage);
    expect(c.state().connection).toBe("connected");
    expect(c.state().sessionId).toBe(100);
    expect(c.media.map((m) => m.kind)).toEqual(["init", "idle", "idle"]);
    const fixture = loadStreamFixture();
    const init = toBytes(c.media[0].data);
    expect(ArrayBuffer.isView(c.media[0].data) || c.media[0].data instanceof ArrayBuffer).toBe(true);
    expect(Buffer.from(init).toString("base64")).toBe(fixture.segments[0].data);
    expect(c.media[1]).toMatchObject({ t: 0, index: 1, mime: fixture.mime });

    // the server's turn events, in the shapes live.py emits them
    server.emit("speech_start", { at_s: 0.5 });
    server.emit("transcript", { text: "Какой твой", final: false, language: "ru", audio_duration_s: 1, processing_s: 0.1, segments: [] });
    server.emit("transcript", { text: "Какой твой любимый цвет?", final: true, language: "ru", audio_duration_s: 2, processing_s: 0.2, segments: [] });
    server.emit("reply", { turn: 1, index: 0, text: "Синий!", emotion: "happy" });
    server.emit("reply", { turn: 1, index: 1, text: " Как небо.", emotion: "neutral" });
    server.emit("timings", { turn: 1, asr_s: 0.2, first_token_s: 0.4, tts_s: 0.3, first_segment_s: 0.9, total_s: 1.0, queued_before_first_segment_s: 0.1 });
    server.emit("turn_end", { turn: 1, reason: "done", timings: { asr_s: 0.2, first_token_s: 0.4, tts_s: 0.6, first_segment_s: 0.9, total_s: 2.5 } });
    await server.waitFor(() => c.actions.some((a) => a.type === "turn_end"), 5000, "turn_end");
    const s = c.state();
    expect(s.history.map((h) => [h.role, h.text])).toEqual([
      ["user", "Какой твой любимый цвет?"],
      ["assistant", "Синий! Как небо."],
    ]);
    expect(s.emotion).toBe("neutral");
    expect(s.timings).toMatchObject({ tts_s: 0.6, total_s: 2.5, first_segment_s: 0.9 });
    expect(s.activeTurn).toBeNull();
  });

  it("sends text, binary audio, audio_end and stop only while live, in order", async () => {
    const server = await serve();
    const c = connect(server);
    expect(c.client.sendText("рано")).toBe(false); // not live yet: nothing is buffered for later
    await server.waitFor(() => c.state().live, 5000, "ready");
    expect(c.client.sendAudio(new Uint8Array([0x1a, 0x45, 0xdf, 0xa3]))).toBe(true);
    c.client.sendAudio(new Uint8Array([1, 2, 3]).buffer);
    c.client.audioEnd();
    expect(c.client.sendText("  Привет  ")).toBe(true);
    c.client.stop();
    await server.waitFor(() => server.of("stop").length === 1, 5000, "stop");
    expect(server.received.map((r) => r.event)).toEqual(["start", "audio", "audio", "audio_end", "text", "stop"]);
    const audio = server.of("audio").map((r) => [...(r.data as Buffer)]);
    expect(audio).toEqual([[0x1a, 0x45, 0xdf, 0xa3], [1, 2, 3]]);
    expect(server.of("text")[0].data).toEqual({ text: "Привет" });
    expect(c.state().history).toMatchObject([{ role: "user", text: "Привет" }]);
  });

  it("reconnects after the server restarts and continues the same session", async () => {
    const server = await serve();
    const c = connect(server, { personaId: 2, greet: true });
    await server.waitFor(() => c.state().live, 5000, "ready");
    const states: string[] = [];
    c.client.on("action", (a) => a.type === "connection" && states.push(a.state));
    let lost = 0;
    c.client.on("lost", () => lost++);

    await server.stop();
    await server.waitFor(() => c.state().connection === "reconnecting", 5000, "reconnecting");
    expect(c.state().live).toBe(false);
    expect(c.client.sendAudio(new Uint8Array([1]))).toBe(false);
    expect(lost).toBe(1);

    await server.start(server.port); // same port, as a restarted server
    await server.waitFor(() => server.of("start").length === 2 && c.state().live, 10000, "second start");
    const [first, second] = server.of("start").map((r) => r.data as StartMessage);
    expect(first).toMatchObject({ persona_id: 2, greet: true });
    expect(first.session_id).toBeUndefined();
    expect(second).toEqual({ persona_id: 2, session_id: 100, audio_format: "webm" }); // same session, no second greeting
    expect(states).toContain("reconnecting");
    expect(c.state().connection).toBe("connected");
    expect(c.state().epoch).toBe(2);
  });

  it("starts a new session when the remembered one is gone", async () => {
    const server = await serve({ knownSessions: new Set<number>() });
    const c = connect(server, { sessionId: 7 });
    await server.waitFor(() => c.state().live, 5000, "ready");
    const starts = server.of("start").map((r) => r.data as StartMessage);
    expect(starts[0].session_id).toBe(7);
    expect(starts[1].session_id).toBeUndefined();
    expect(c.state().sessionId).toBe(100);
    expect(c.state().error).toBeNull();
    expect(c.client.currentSessionId).toBe(100);
  });

  it("shows a busy server in Russian and starts by itself when a slot frees", async () => {
    const server = await serve({ busyStarts: 1, busyRetryS: 1 });
    const c = connect(server);
    await server.waitFor(() => c.state().error?.code === "busy", 5000, "busy");
    expect(c.state().error?.message).toMatch(/занят.*автоматически/);
    expect(c.state().live).toBe(false);
    await server.waitFor(() => c.state().live, 5000, "ready after the retry");
    expect(server.of("start")).toHaveLength(2);
    expect(c.state().error).toBeNull();
  });

  it("passes the token and reports a refused connection in Russian", async () => {
    const server = await serve({ token: "s3cret" });
    const refused = connect(server, { token: () => "wrong" });
    await server.waitFor(() => refused.state().connection === "disconnected", 5000, "refusal");
    expect(refused.state().error).toMatchObject({ code: "unauthorized", message: "Нужен токен." });
    expect(server.of("start")).toHaveLength(0);

    const allowed = connect(server, { token: () => "s3cret" });
    await server.waitFor(() => allowed.state().live, 5000, "ready with token");
  });

  it("delivers segments and interruptions to the player in order", async () => {
    const server = await serve({ stream: false });
    const c = connect(server);
    const interrupted: number[] = [];
    c.client.on("interrupted", (e) => interrupted.push(e.media_time));
    await server.waitFor(() => c.state().live, 5000, "ready");
    const fixture = loadStreamFixture();
    for (const seg of fixture.segments) server.emit(seg.kind === "init" ? "init" : "segment", segmentPayload(seg, fixture.mime));
    server.emit("interrupted", { turn: 1, reason: "stop", media_time: 0.72 });
    await server.waitFor(() => interrupted.length === 1, 5000, "interrupted");
    expect(c.media.map((m) => m.index)).toEqual(fixture.segments.map((s) => s.index));
    expect(interrupted).toEqual([0.72]);
    expect(c.actions.filter((a) => a.type === "interrupted")).toHaveLength(1);
  });

  it("with holdStart connects but sends start only on begin(), with the recording format chosen then", async () => {
    const server = await serve();
    const c = connect(server, { personaId: 3, greet: true, holdStart: true });
    await server.waitFor(() => c.state().connection === "connected", 5000, "connected");
    await new Promise((r) => setTimeout(r, 100));
    expect(server.of("start")).toHaveLength(0);
    expect(c.state().live).toBe(false);
    c.client.begin({ audioFormat: "pcm16", sampleRate: 16000 });
    c.client.begin(); // once
    await server.waitFor(() => c.state().live, 5000, "ready");
    expect(server.of("start")).toHaveLength(1);
    expect(server.of("start")[0].data).toEqual({ persona_id: 3, audio_format: "pcm16", sample_rate: 16000, greet: true } satisfies StartMessage);
  });
});
