/**
 * Typed client of the REST API. JSON calls go through fetch; uploads go through XMLHttpRequest so
 * that big voice files report their upload progress. Every failure is thrown as an ApiError with a
 * Russian message.
 */
import { ApiError, abortedError, errorFromResponse, jobError, networkError } from "./errors";
import type {
  AvatarCreated,
  Fact,
  Health,
  Job,
  JobCreated,
  LlmModels,
  MessagesPage,
  Persona,
  PersonaIn,
  PersonaPatch,
  PersonaWarmup,
  RenderOutcome,
  RenderRequest,
  SessionInfo,
  TtsPreviewRequest,
  TtsVoices,
  UiSettings,
  UiSettingsUpdate,
  VoiceInfo,
  VoicePrepareResult,
  VoiceTrainingStatus,
  VoiceUploadResult,
} from "./types";

export { ApiError } from "./errors";

const LEGACY_TOKEN_KEY = "avatar.token"; // where older versions kept the token: cleared

/**
 * A token to send as a bearer header: `?token=` still in the page URL, which only happens when the
 * page did not come from the API server (the Vite dev server). The API server itself answers the
 * first visit with `?token=` by storing it in an HttpOnly cookie and dropping it from the URL; that
 * cookie then authorises every request of the page, media URLs included, and scripts never see it.
 */
export function getToken(): string | null {
  if (typeof window === "undefined") return null;
  try {
    window.localStorage.removeItem(LEGACY_TOKEN_KEY);
    return new URLSearchParams(window.location.search).get("token") || null;
  } catch {
    return null;
  }
}

export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0..1, or null when the size is unknown. */
  fraction: number | null;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/** A voice upload: the files' upload progress, then the analysis job's progress. */
export interface VoiceUploadOptions extends UploadOptions {
  onJob?: (job: Job<VoiceUploadResult>) => void;
  /** Milliseconds between polls of the analysis job (default 400). */
  intervalMs?: number;
}

export interface PollOptions<R> {
  /** Milliseconds between polls (default 400). */
  intervalMs?: number;
  onUpdate?: (job: Job<R>) => void;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  /** Origin of the server, "" for the page's own origin. */
  baseUrl?: string;
  /** Token for servers started with one; by default read from the URL / localStorage. */
  token?: string | null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A file name for a Blob that has none (webcam shots, browser recordings). */
function fileName(blob: Blob, fallback: string): string {
  const name = (blob as File).name;
  return typeof name === "string" && name ? name : fallback;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | null | undefined;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/$/, "");
    this.token = options.token;
  }

  private currentToken(): string | null {
    return this.token === undefined ? getToken() : this.token;
  }

  /** Absolute URL of an API path (media sources too: the token travels in the cookie, never in URLs). */
  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.baseUrl}${path}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = this.currentToken();
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.url(path), { ...init, headers: this.headers(init.headers as Record<string, string>) });
    } catch (err) {
      if (init.signal?.aborted) throw abortedError();
      throw networkError(String(err));
    }
    if (!response.ok) throw errorFromResponse(response.status, await response.text().catch(() => ""));
    return response;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(path, init);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new ApiError(response.status, { code: "bad_response", message: "Сервер прислал непонятный ответ.", detail: text.slice(0, 300) });
    }
  }

  private jsonBody<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.json<T>(path, { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" }, signal });
  }

  /**
   * POST a multipart form with XMLHttpRequest (upload progress). Resolves with the status and the
   * parsed JSON body, or the raw Blob when `blob` is set and the answer is not JSON.
   */
  upload<T>(path: string, form: FormData, options: UploadOptions & { blob?: boolean } = {}): Promise<{ status: number; body: T | Blob }> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.url(path));
      if (options.blob) xhr.responseType = "blob";
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => {
        options.onProgress?.({ loaded: event.loaded, total: event.total, fraction: event.lengthComputable && event.total ? event.loaded / event.total : null });
      };
      const onAbort = () => xhr.abort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => options.signal?.removeEventListener("abort", onAbort);
      xhr.onabort = () => {
        done();
        reject(abortedError());
      };
      xhr.onerror = () => {
        done();
        reject(networkError(`upload to ${path} failed`));
      };
      xhr.onload = async () => {
        done();
        const contentType = xhr.getResponseHeader("Content-Type") ?? "";
        const isJson = contentType.includes("json");
        const text = options.blob ? (isJson || xhr.status >= 400 ? await (xhr.response as Blob).text() : "") : xhr.responseText;
        if (xhr.status < 200 || xhr.status >= 300) {
          reject(errorFromResponse(xhr.status, text));
          return;
        }
        if (options.blob && !isJson) {
          resolve({ status: xhr.status, body: xhr.response as Blob });
          return;
        }
        try {
          resolve({ status: xhr.status, body: (text ? JSON.parse(text) : undefined) as T });
        } catch {
          reject(new ApiError(xhr.status, { code: "bad_response", message: "Сервер прислал непонятный ответ.", detail: text.slice(0, 300) }));
        }
      };
      if (options.signal?.aborted) {
        done();
        reject(abortedError());
        return;
      }
      xhr.send(form);
    });
  }

  // ---- health / settings ---------------------------------------------------------------------

  health(signal?: AbortSignal): Promise<Health> {
    return this.json<Health>("/api/health", { signal });
  }

  getSettings(signal?: AbortSignal): Promise<UiSettings> {
    return this.json<UiSettings>("/api/settings", { signal });
  }

  putSettings(update: UiSettingsUpdate): Promise<UiSettings> {
    return this.jsonBody<UiSettings>("PUT", "/api/settings", update);
  }

  llmModels(signal?: AbortSignal): Promise<LlmModels> {
    return this.json<LlmModels>("/api/settings/llm-models", { signal });
  }

  // ---- avatars -------------------------------------------------------------------------------

  async createAvatar(photo: Blob, options: UploadOptions = {}): Promise<AvatarCreated> {
    const form = new FormData();
    form.append("photo", photo, fileName(photo, "photo.jpg"));
    return (await this.upload<AvatarCreated>("/api/avatars", form, options)).body as AvatarCreated;
  }

  avatarCropUrl(avatarId: string): string {
    return this.url(`/api/avatars/${encodeURIComponent(avatarId)}/crop.png`);
  }

  // ---- personas ------------------------------------------------------------------------------

  listPersonas(signal?: AbortSignal): Promise<Persona[]> {
    return this.json<Persona[]>("/api/personas", { signal });
  }

  getPersona(id: number): Promise<Persona> {
    return this.json<Persona>(`/api/personas/${id}`);
  }

  createPersona(body: PersonaIn): Promise<Persona> {
    return this.jsonBody<Persona>("POST", "/api/personas", body);
  }

  replacePersona(id: number, body: PersonaIn): Promise<Persona> {
    return this.jsonBody<Persona>("PUT", `/api/personas/${id}`, body);
  }

  patchPersona(id: number, body: PersonaPatch): Promise<Persona> {
    return this.jsonBody<Persona>("PATCH", `/api/personas/${id}`, body);
  }

  async deletePersona(id: number): Promise<void> {
    await this.send(`/api/personas/${id}`, { method: "DELETE" });
  }

  /** The state of the persona's prompt warm-up (404: unknown persona, or a server without warm-ups). */
  personaWarmup(id: number, signal?: AbortSignal): Promise<PersonaWarmup> {
    return this.json<PersonaWarmup>(`/api/personas/${id}/warmup`, { signal });
  }

  listSessions(personaId: number, signal?: AbortSignal): Promise<SessionInfo[]> {
    return this.json<SessionInfo[]>(`/api/personas/${personaId}/sessions`, { signal });
  }

  listMessages(sessionId: number, page: { before?: number | null; limit?: number } = {}, signal?: AbortSignal): Promise<MessagesPage> {
    const query = new URLSearchParams();
    if (page.before != null) query.set("before", String(page.before));
    if (page.limit != null) query.set("limit", String(page.limit));
    const suffix = query.toString() ? `?${query}` : "";
    return this.json<MessagesPage>(`/api/sessions/${sessionId}/messages${suffix}`, { signal });
  }

  listFacts(personaId: number, signal?: AbortSignal): Promise<Fact[]> {
    return this.json<Fact[]>(`/api/personas/${personaId}/facts`, { signal });
  }

  async deleteFact(personaId: number, key: string): Promise<void> {
    await this.send(`/api/personas/${personaId}/facts/${encodeURIComponent(key)}`, { method: "DELETE" });
  }

  // ---- voices --------------------------------------------------------------------------------

  private voiceForm(files: Blob[], name?: string): FormData {
    const form = new FormData();
    if (name !== undefined) form.append("name", name);
    files.forEach((file, i) => form.append("files", file, fileName(file, `sample-${i + 1}.webm`)));
    return form;
  }

  /**
   * Create a voice from samples: the server stores the files and analyses them in a job, which this
   * waits for. When nothing was usable the thrown ApiError (code `voice_rejected`) carries `report`.
   */
  createVoice(name: string, files: Blob[], options: VoiceUploadOptions = {}): Promise<VoiceUploadResult> {
    return this.uploadVoice("/api/voices", this.voiceForm(files, name), options);
  }

  addVoiceSamples(voiceId: string, files: Blob[], options: VoiceUploadOptions = {}): Promise<VoiceUploadResult> {
    return this.uploadVoice(`/api/voices/${encodeURIComponent(voiceId)}/samples`, this.voiceForm(files), options);
  }

  private async uploadVoice(path: string, form: FormData, options: VoiceUploadOptions): Promise<VoiceUploadResult> {
    const created = (await this.upload<JobCreated>(path, form, options)).body as JobCreated;
    const { intervalMs, onJob: onUpdate, signal } = options;
    const job = await this.pollJob<VoiceUploadResult>(created.job_id, { intervalMs, onUpdate, signal });
    return job.result as VoiceUploadResult;
  }

  listVoices(signal?: AbortSignal): Promise<VoiceInfo[]> {
    return this.json<VoiceInfo[]>("/api/voices", { signal });
  }

  getVoice(voiceId: string): Promise<VoiceInfo> {
    return this.json<VoiceInfo>(`/api/voices/${encodeURIComponent(voiceId)}`);
  }

  async deleteVoice(voiceId: string): Promise<void> {
    await this.send(`/api/voices/${encodeURIComponent(voiceId)}`, { method: "DELETE" });
  }

  voiceSampleUrl(voiceId: string, n: number): string {
    return this.url(`/api/voices/${encodeURIComponent(voiceId)}/samples/${n}.wav`);
  }

  prepareVoice(voiceId: string): Promise<JobCreated> {
    return this.json<JobCreated>(`/api/voices/${encodeURIComponent(voiceId)}/prepare`, { method: "POST" });
  }

  /** Can the voice be trained on this server, the time estimate, and its latest training job. */
  trainingStatus(voiceId: string, signal?: AbortSignal): Promise<VoiceTrainingStatus> {
    return this.json<VoiceTrainingStatus>(`/api/voices/${encodeURIComponent(voiceId)}/train`, { signal });
  }

  /** Start fine-tuning the voice (a job; the one already running for this voice, if any). */
  startTraining(voiceId: string): Promise<JobCreated> {
    return this.json<JobCreated>(`/api/voices/${encodeURIComponent(voiceId)}/train`, { method: "POST" });
  }

  /** Stop the voice's training after a checkpoint (starting it again continues from there). */
  cancelTraining(voiceId: string): Promise<VoiceTrainingStatus> {
    return this.json<VoiceTrainingStatus>(`/api/voices/${encodeURIComponent(voiceId)}/train`, { method: "DELETE" });
  }

  // ---- standard TTS voices ------------------------------------------------------------------

  /** The TTS engine's standard voices, with the default per gender. */
  ttsVoices(signal?: AbortSignal): Promise<TtsVoices> {
    return this.json<TtsVoices>("/api/tts/voices", { signal });
  }

  /** A short WAV of a standard voice. */
  async ttsPreview(request: TtsPreviewRequest, signal?: AbortSignal): Promise<Blob> {
    const response = await this.send("/api/tts/preview", {
      method: "POST",
      body: JSON.stringify(request),
      headers: { "Content-Type": "application/json" },
      signal,
    });
    return response.blob();
  }

  // ---- jobs ----------------------------------------------------------------------------------

  getJob<R = unknown>(jobId: string, signal?: AbortSignal): Promise<Job<R>> {
    return this.json<Job<R>>(`/api/jobs/${encodeURIComponent(jobId)}`, { signal });
  }

  /** Poll a job until it is done (resolves) or failed (throws its error as an ApiError). */
  async pollJob<R = unknown>(jobId: string, options: PollOptions<R> = {}): Promise<Job<R>> {
    const interval = options.intervalMs ?? 400;
    let failures = 0;
    for (;;) {
      let job: Job<R>;
      try {
        job = await this.getJob<R>(jobId, options.signal);
        failures = 0;
      } catch (err) {
        // A lost poll or two (server busy) is not a failed job.
        if (err instanceof ApiError && err.retryable && err.code !== "aborted" && ++failures < 5) {
          await sleep(interval * 2, options.signal);
          continue;
        }
        throw err;
      }
      options.onUpdate?.(job);
      if (job.status === "done") return job;
      if (job.status === "error") throw jobError(job.error, job.message);
      await sleep(interval, options.signal);
    }
  }

  prepareVoiceAndWait(voiceId: string, options: PollOptions<VoicePrepareResult> = {}): Promise<Job<VoicePrepareResult>> {
    return this.prepareVoice(voiceId).then((created) => this.pollJob<VoicePrepareResult>(created.job_id, options));
  }

  // ---- render --------------------------------------------------------------------------------

  /** Render text (or audio) with an avatar and voice: the MP4, or a job for long inputs. */
  async render(request: RenderRequest, options: UploadOptions = {}): Promise<RenderOutcome> {
    const form = new FormData();
    if (request.photo) form.append("photo", request.photo, fileName(request.photo, "photo.jpg"));
    if (request.avatar_id) form.append("avatar_id", request.avatar_id);
    if (request.voice_id) form.append("voice_id", request.voice_id);
    if (request.tts_voice) form.append("tts_voice", request.tts_voice);
    if (request.text !== undefined) form.append("text", request.text);
    if (request.audio) form.append("audio", request.audio, fileName(request.audio, "audio.webm"));
    if (request.mode) form.append("mode", request.mode);
    const { body } = await this.upload<JobCreated>("/api/render", form, { ...options, blob: true });
    if (body instanceof Blob) return { kind: "video", blob: body };
    return { kind: "job", job: body };
  }

  /** Download a result (e.g. a job's `result_url`) as a Blob. */
  async fetchBlob(path: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.send(path, { signal })).blob();
  }
}

/** The client of the page's own server. */
export const api = new ApiClient();
