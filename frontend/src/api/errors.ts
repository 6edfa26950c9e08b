import type { ApiErrorBody, VoiceReport } from "./types";

/**
 * A failed API call. `message` is Russian and can be shown as is; `code` is the server's
 * machine-readable code (`no_face`, `too_large`, ...) or `network` / `aborted` / `http_<status>`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** The quality report that comes with a refused voice upload. */
  readonly report?: VoiceReport;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.detail = body.detail ?? body.message;
    this.report = body.report;
  }

  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

const STATUS_MESSAGES: Record<number, string> = {
  400: "Неверный запрос.",
  401: "Нужен токен доступа.",
  403: "Доступ запрещён.",
  404: "Не найдено.",
  413: "Файл слишком большой.",
  422: "Сервер не принял данные.",
  429: "Слишком много запросов, подождите немного.",
  500: "Внутренняя ошибка сервера.",
  502: "Сервер недоступен.",
  503: "Сервер занят или ещё загружается.",
  504: "Сервер не ответил вовремя.",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Build an ApiError from a status and whatever the server sent (JSON text, or not). */
export function errorFromResponse(status: number, text: string): ApiError {
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const fallback = STATUS_MESSAGES[status] ?? `Ошибка сервера (${status}).`;
  if (isRecord(parsed)) {
    // {"error": {...}} (this server), or the fields at the top level, or FastAPI's {"detail": ...}.
    const inner = isRecord(parsed.error) ? parsed.error : isRecord(parsed.detail) ? parsed.detail : parsed;
    const message = typeof inner.message === "string" && inner.message ? inner.message : fallback;
    const code = typeof inner.code === "string" && inner.code ? inner.code : `http_${status}`;
    const detail = typeof inner.detail === "string" ? inner.detail : typeof parsed.detail === "string" ? parsed.detail : message;
    const reportSource = inner.report ?? parsed.report;
    const report = isRecord(reportSource) && Array.isArray(reportSource.files) ? (reportSource as unknown as VoiceReport) : undefined;
    return new ApiError(status, { code, message, detail, report });
  }
  return new ApiError(status, { code: `http_${status}`, message: fallback, detail: text.slice(0, 500) });
}

export function networkError(detail: string): ApiError {
  return new ApiError(0, {
    code: "network",
    message: "Нет связи с сервером. Проверьте, что он запущен, и попробуйте ещё раз.",
    detail,
  });
}

export function abortedError(): ApiError {
  return new ApiError(0, { code: "aborted", message: "Запрос отменён.", detail: "aborted" });
}

/** A job that ended with status "error" (a refused voice upload keeps its report). */
export function jobError(error: ApiErrorBody | null | undefined, message: string): ApiError {
  return new ApiError(500, {
    code: error?.code ?? "job_failed",
    message: error?.message ?? (message || "Задание завершилось с ошибкой."),
    detail: error?.detail ?? message,
    report: error?.report,
  });
}

/** The Russian text to show for any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof DOMException && err.name === "NotAllowedError") {
    return "Браузер не дал доступ к устройству. Разрешите доступ в настройках сайта.";
  }
  if (err instanceof DOMException && err.name === "NotFoundError") {
    return "Устройство не найдено.";
  }
  if (err instanceof Error && err.message) return `Ошибка: ${err.message}`;
  return "Неизвестная ошибка.";
}
