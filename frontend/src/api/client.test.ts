import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, ApiError, getToken } from "./client";
import { errorReply, startServer, type TestServer } from "../test/server";
import { persona, voiceInfo, voiceReport } from "../test/fixtures";

let server: TestServer;

beforeEach(async () => {
  server = await startServer();
});

afterEach(async () => {
  await server.close();
});

describe("ApiClient JSON calls", () => {
  it("lists and creates personas with the real JSON shapes", async () => {
    server.on("GET /api/personas", { json: [persona()] });
    server.on("POST /api/personas", (req) => ({ status: 201, json: persona({ id: 2, ...req.json<object>() }) }));

    const list = await server.client.listPersonas();
    expect(list.map((p) => p.name)).toEqual(["Аня"]);

    const created = await server.client.createPersona({
      name: "Олег", age: 40, gender: "male", temperament: "весёлый", interests: "рыбалка, шахматы",
      speech_style: "шутит", greeting: "Здорово!", notes: "", avatar_id: "abc", voice_id: "v1",
    });
    expect(created.id).toBe(2);
    const sent = server.calls("POST /api/personas")[0];
    expect(sent.headers["content-type"]).toBe("application/json");
    expect(sent.json()).toMatchObject({ name: "Олег", avatar_id: "abc", voice_id: "v1" });
  });

  it("parses the server's error body into an ApiError with the Russian message", async () => {
    server.on("POST /api/personas", errorReply(422, "bad_persona", "Имя должно быть от 1 до 60 символов."));
    const error = await server.client
      .createPersona({ name: "", age: 20, gender: "female", temperament: "", interests: [], speech_style: "", greeting: "", notes: "", avatar_id: null, voice_id: null })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect((error as ApiError).code).toBe("bad_persona");
    expect((error as ApiError).message).toBe("Имя должно быть от 1 до 60 символов.");
  });

  it("gives a Russian message for answers that are not JSON", async () => {
    server.on("GET /api/health", { status: 502, body: "<html>Bad gateway</html>" });
    const error = (await server.client.health().catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("http_502");
    expect(error.message).toBe("Сервер недоступен.");
  });

  it("reports a network error when nobody listens", async () => {
    const url = server.url;
    await server.close();
    const error = (await new ApiClient({ baseUrl: url, token: null }).health().catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("network");
    expect(error.message).toMatch(/Нет связи с сервером/);
    server = await startServer(); // for afterEach
  });

  it("sends a known token as a bearer header, never in media URLs", async () => {
    server.on("GET /api/settings", { json: { engines: {}, available: {}, quality: "speed", reloading: {} } });
    const client = new ApiClient({ baseUrl: server.url, token: "s3cret" });
    await client.getSettings();
    expect(server.calls("GET /api/settings")[0].headers.authorization).toBe("Bearer s3cret");
    expect(client.avatarCropUrl("abc")).toBe(`${server.url}/api/avatars/abc/crop.png`);
    expect(client.voiceSampleUrl("v1", 2)).toBe(`${server.url}/api/voices/v1/samples/2.wav`);
  });

  it("takes the token only from the page URL and never stores it (the server keeps it in a cookie)", () => {
    window.localStorage.setItem("avatar.token", "old");
    window.history.replaceState(null, "", "/?token=fromurl#/wizard");
    expect(getToken()).toBe("fromurl");
    expect(window.localStorage.getItem("avatar.token")).toBeNull();
    window.history.replaceState(null, "", "/#/wizard");
    expect(getToken()).toBeNull();
  });

  it("pages messages with before/limit", async () => {
    server.on("GET /api/sessions/7/messages", (req) => ({ json: { items: [], next_before: Number(req.query.get("before")) - 10 } }));
    const page = await server.client.listMessages(7, { before: 50, limit: 10 });
    expect(page.next_before).toBe(40);
    expect(server.calls("GET /api/sessions/7/messages")[0].query.get("limit")).toBe("10");
  });

  it("puts settings as JSON", async () => {
    server.on("PUT /api/settings", (req) => ({ json: { engines: req.json<{ engines: object }>().engines, available: {}, quality: "quality", reloading: { tts: 0 } } }));
    const result = await server.client.putSettings({ engines: { tts: "espeak" }, quality: "quality" });
    expect(result.engines).toEqual({ tts: "espeak" });
    expect(result.reloading).toEqual({ tts: 0 });
  });
});

describe("ApiClient uploads", () => {
  it("uploads voice samples as multipart with progress", async () => {
    const report = voiceReport();
    let result: object = {};
    server.on("POST /api/voices", async (req) => {
      const form = await req.form();
      const files = form.getAll("files") as File[];
      result = { voice: voiceInfo({ name: String(form.get("name")) }), report: { ...report, files: files.map((f) => ({ ...report.files[0], name: f.name })) } };
      return { status: 202, json: { job_id: "j1", status_url: "/api/jobs/j1" } };
    });
    let polls = 0;
    server.on("GET /api/jobs/j1", () => {
      polls += 1;
      if (polls === 1) return { json: { id: "j1", status: "running", progress: 0.5, message: "Анализ записи 2 из 2: sample-2.webm" } };
      return { json: { id: "j1", status: "done", progress: 1, message: "Готово", result } };
    });
    const jobs: string[] = [];
    const big = new Uint8Array(300_000).fill(7);
    const fractions: number[] = [];
    const created = await server.client.createVoice(
      "Мой голос",
      [new File([big], "one.wav", { type: "audio/wav" }), new Blob(["abc"], { type: "audio/webm" })],
      { onProgress: (p) => p.fraction !== null && fractions.push(p.fraction), onJob: (job) => jobs.push(job.message), intervalMs: 10 },
    );
    expect(created.voice.name).toBe("Мой голос");
    expect(created.report.files.map((f) => f.name)).toEqual(["one.wav", "sample-2.webm"]);
    expect(jobs).toEqual(["Анализ записи 2 из 2: sample-2.webm", "Готово"]);
    expect(fractions.at(-1)).toBe(1);
    const form = await server.calls("POST /api/voices")[0].form();
    expect(((form.getAll("files")[0]) as File).size).toBe(300_000);
  });

  it("keeps the quality report of a refused voice upload", async () => {
    const report = voiceReport({ files: [{ ...voiceReport().files[0], usable_s: 0, accepted: false, problems: ["Слишком тихо."] }], usable_s: 0 });
    server.on("POST /api/voices/v1/samples", { status: 202, json: { job_id: "j2", status_url: "/api/jobs/j2" } });
    const error = { code: "voice_rejected", message: "В записях нет пригодной речи.", detail: "", report };
    server.on("GET /api/jobs/j2", { json: { id: "j2", status: "error", progress: 0, message: "Ошибка", error } });
    const refused = (await server.client.addVoiceSamples("v1", [new Blob(["x"])]).catch((e: unknown) => e)) as ApiError;
    expect(refused.code).toBe("voice_rejected");
    expect(refused.message).toBe("В записях нет пригодной речи.");
    expect(refused.report?.files[0].problems).toEqual(["Слишком тихо."]);
    // refused before the job: the limits answer the upload itself
    server.on("POST /api/voices/v1/samples", errorReply(413, "too_large", "Слишком большой объём записей."));
    const tooLarge = (await server.client.addVoiceSamples("v1", [new Blob(["x"])]).catch((e: unknown) => e)) as ApiError;
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.code).toBe("too_large");
  });

  it("creates an avatar and parses a refusal", async () => {
    server.on("POST /api/avatars", async (req) => {
      const photo = (await req.form()).get("photo") as File;
      if (photo.size < 10) return errorReply(422, "no_face", "На фото не найдено лицо.");
      return { json: { avatar_id: "a1", warnings: [], face_px: 240, crop_url: "/api/avatars/a1/crop.png" } };
    });
    const ok = await server.client.createAvatar(new File([new Uint8Array(100)], "me.jpg", { type: "image/jpeg" }));
    expect(ok.avatar_id).toBe("a1");
    const error = (await server.client.createAvatar(new Blob(["x"], { type: "image/jpeg" })).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe("На фото не найдено лицо.");
    expect(error.code).toBe("no_face");
  });

  it("aborts an upload", async () => {
    server.on("POST /api/avatars", { json: {}, delayMs: 2000 });
    const controller = new AbortController();
    const pending = server.client.createAvatar(new Blob(["x"]), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = (await pending.catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("aborted");
  });
});

describe("ApiClient render and jobs", () => {
  it("returns the MP4 when the server renders at once", async () => {
    server.on("POST /api/render", async (req) => {
      const form = await req.form();
      expect(form.get("avatar_id")).toBe("a1");
      expect(form.get("voice_id")).toBe("v1");
      expect(form.get("text")).toBe("Привет!");
      return { body: Buffer.from("fake-mp4-bytes"), headers: { "Content-Type": "video/mp4" } };
    });
    const outcome = await server.client.render({ avatar_id: "a1", voice_id: "v1", text: "Привет!" });
    expect(outcome.kind).toBe("video");
    if (outcome.kind === "video") expect(outcome.blob.size).toBe(14);
  });

  it("returns the job for a 202 and polls it to the end", async () => {
    server.on("POST /api/render", { status: 202, json: { job_id: "j1", status_url: "/api/jobs/j1" } });
    let polls = 0;
    server.on("GET /api/jobs/j1", () => {
      polls += 1;
      if (polls < 3) return { json: { id: "j1", status: "running", progress: polls / 3, message: "Рендеринг" } };
      return { json: { id: "j1", status: "done", progress: 1, message: "Готово", result_url: "/api/jobs/j1/result" } };
    });
    server.on("GET /api/jobs/j1/result", { body: Buffer.from("mp4!"), headers: { "Content-Type": "video/mp4" } });

    const outcome = await server.client.render({ avatar_id: "a1", text: "Длинный текст" });
    expect(outcome).toEqual({ kind: "job", job: { job_id: "j1", status_url: "/api/jobs/j1" } });
    const seen: number[] = [];
    const job = await server.client.pollJob("j1", { intervalMs: 10, onUpdate: (j) => seen.push(j.progress) });
    expect(seen).toEqual([1 / 3, 2 / 3, 1]);
    const blob = await server.client.fetchBlob(job.result_url!);
    expect(await blob.text()).toBe("mp4!");
  });

  it("throws a failed job's error", async () => {
    server.on("GET /api/jobs/j2", { json: { id: "j2", status: "error", progress: 0.4, message: "Ошибка", error: { code: "tts_failed", message: "Синтез речи не удался.", detail: "x" } } });
    const error = (await server.client.pollJob("j2", { intervalMs: 10 }).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("tts_failed");
    expect(error.message).toBe("Синтез речи не удался.");
  });
});
