"""``POST /api/avatars``: check and prepare a face photo once; the id is used by renders and live talks."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse, Response

from backend.deps import PipelineDep, SettingsDep
from backend.errors import error_response
from backend.routes.render import PHOTO_TYPES, read_upload
from backend.schemas import ERRORS, AvatarCreated

router = APIRouter(prefix="/api", tags=["avatars"], responses=ERRORS)
AVATAR_ID = re.compile(r"[0-9a-f]{16}")  # what photo_id makes


@router.post("/avatars", response_model=AvatarCreated)
async def create_avatar(pipeline: PipelineDep, settings: SettingsDep,
                        photo: Annotated[UploadFile, File(description="Face photo (JPEG/PNG/WebP)")]) -> dict[str, object]:
    """Face found and aligned: ``avatar_id``, warnings (e.g. several faces) and the crop's URL."""
    data = await read_upload(photo, settings.limits.max_upload_mb, PHOTO_TYPES, "photo")
    avatar = await asyncio.to_thread(pipeline.avatar, data)
    return {"avatar_id": avatar.id, "warnings": list(avatar.warnings), "face_px": avatar.face.face_px,
            "crop_url": f"/api/avatars/{avatar.id}/crop.png"}


@router.get("/avatars/{avatar_id}/crop.png", response_model=None, response_class=Response,
            responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
async def avatar_crop(avatar_id: str, settings: SettingsDep) -> Response:
    path = settings.avatars_dir / avatar_id / "crop.png"
    if not AVATAR_ID.fullmatch(avatar_id) or not path.is_file():
        return error_response(404, "avatar_not_found", "Аватар не найден.", avatar_id)
    return FileResponse(path, media_type="image/png")
