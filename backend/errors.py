"""Every error leaves the API as JSON: ``{"error": {"code", "message" (ru), "detail" (en)}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ai_pipeline.errors import AvatarError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, detail: str = "") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "detail": detail or message}}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AvatarError)
    async def avatar_error(_: Request, exc: AvatarError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, exc.message_ru, exc.message_en)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return error_response(422, "bad_request", f"Неверный запрос: проверьте поля ({fields}).", str(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Внутренняя ошибка сервера.", repr(exc))


def install_token_check(app: FastAPI, token: str) -> None:
    """Require ``Authorization: Bearer <token>`` (or ``?token=``) on every API call but health."""

    @app.middleware("http")
    async def check(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        if path.startswith("/api/") and path != "/api/health":
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if given != token and request.query_params.get("token") != token:
                return error_response(401, "unauthorized", "Нужен токен доступа.", "Missing or wrong token.")
        return await call_next(request)
