"""Every error leaves the API as JSON: ``{"error": {"code", "message" (ru), "detail" (en)}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ai_pipeline.errors import AvatarError

log = logging.getLogger(__name__)
QUOTE_CHARS = 300  # the most of a request's input an error body quotes


def error_response(status: int, code: str, message: str, detail: str = "") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "detail": detail or message}}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AvatarError)
    async def avatar_error(_: Request, exc: AvatarError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, clip(exc.message_ru, 2 * QUOTE_CHARS), clip(exc.message_en))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        fields = clip(", ".join(_loc(e) for e in errors), 200)
        detail = "; ".join(f"{_loc(e)}: {e.get('msg', '')} (input: {clip(repr(e.get('input')), 80)})" for e in errors)
        return error_response(422, "bad_request", f"Неверный запрос: проверьте поля ({fields}).", clip(detail))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", clip(str(exc.detail)))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Внутренняя ошибка сервера.", clip(repr(exc)))


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters: error bodies never echo a large input back."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _loc(error: Mapping[str, Any]) -> str:
    return ".".join(clip(str(p), 40) for p in error.get("loc", ()))
