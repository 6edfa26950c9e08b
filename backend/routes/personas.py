"""Personas and their memory over REST: CRUD, conversation history, facts about the user.

Plain ``def`` endpoints: FastAPI runs them in its threadpool, so the sync database calls never
block the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ai_pipeline.llm.prompt import persona_prompt
from backend.db import conversations, memory, personas
from backend.db.deps import DbSessionDep
from backend.db.ids import DbId
from backend.db.schemas import FactOut, MessageOut, MessagesPage, PersonaIn, PersonaOut, PersonaPatch, SessionOut
from backend.deps import RuntimeDep
from backend.schemas import ERRORS
from backend.tts_voices import check_tts_voice, current_tts
from backend.warmup import PersonaWarmup

router = APIRouter(prefix="/api", tags=["personas"], responses=ERRORS)


@router.get("/personas", response_model=list[PersonaOut])
def list_personas(db: DbSessionDep) -> list[PersonaOut]:
    """All personas, oldest first."""
    return [PersonaOut.model_validate(p) for p in personas.list_personas(db)]


@router.post("/personas", status_code=status.HTTP_201_CREATED, response_model=PersonaOut)
def create_persona(body: PersonaIn, db: DbSessionDep, runtime: RuntimeDep) -> PersonaOut:
    """Create a persona (name 1-60 characters, age 1-120; ``tts_voice`` one of GET /api/tts/voices)."""
    _check_tts_voice(runtime, body.tts_voice)
    created = PersonaOut.model_validate(personas.create_persona(db, body.model_dump()))
    runtime.warmups.request(created.id)  # its prompt state is made now, before the first conversation
    return created


@router.get("/personas/{persona_id}", response_model=PersonaOut)
def get_persona(persona_id: DbId, db: DbSessionDep) -> PersonaOut:
    return PersonaOut.model_validate(personas.get_persona(db, persona_id))


@router.put("/personas/{persona_id}", response_model=PersonaOut)
def replace_persona(persona_id: DbId, body: PersonaIn, db: DbSessionDep, runtime: RuntimeDep) -> PersonaOut:
    """Replace every field (omitted ones return to their defaults)."""
    _check_tts_voice(runtime, body.tts_voice)
    return _update(db, runtime, persona_id, body.model_dump())


@router.patch("/personas/{persona_id}", response_model=PersonaOut)
def patch_persona(persona_id: DbId, body: PersonaPatch, db: DbSessionDep, runtime: RuntimeDep) -> PersonaOut:
    """Change only the fields sent."""
    _check_tts_voice(runtime, body.tts_voice)
    return _update(db, runtime, persona_id, body.model_dump(exclude_unset=True))


def _update(db: DbSessionDep, runtime: RuntimeDep, persona_id: int, changes: dict[str, object]) -> PersonaOut:
    """Apply ``changes``; a changed character (the LLM's prompt) is prepared again in the background."""
    before = persona_prompt(personas.persona_card(personas.get_persona(db, persona_id)))
    updated = personas.update_persona(db, persona_id, changes)
    if persona_prompt(personas.persona_card(updated)) != before:
        runtime.warmups.request(persona_id)
    return PersonaOut.model_validate(updated)


@router.get("/personas/{persona_id}/warmup", response_model=PersonaWarmup)
def persona_warmup(persona_id: DbId, db: DbSessionDep, runtime: RuntimeDep) -> PersonaWarmup:
    """How far the persona's preparation for instant answers is (its prompt evaluated and stored ahead of
    the first conversation: started when the persona is created or its character changes)."""
    personas.get_persona(db, persona_id)  # 404 for an unknown persona
    return runtime.warmups.status(persona_id) or runtime.warmups.request(persona_id)


def _check_tts_voice(runtime: RuntimeDep, name: str | None) -> None:
    """A standard voice must be one the current TTS engine offers (422 ``unknown_voice``); an engine
    without voices stores any well-formed name and ignores it."""
    if name:
        check_tts_voice(current_tts(runtime), name)


@router.delete("/personas/{persona_id}", status_code=status.HTTP_204_NO_CONTENT, response_model=None)
def delete_persona(persona_id: DbId, db: DbSessionDep, runtime: RuntimeDep) -> Response:
    """Delete the persona with all its conversations and memory."""
    personas.delete_persona(db, persona_id)
    runtime.warmups.forget(persona_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/personas/{persona_id}/sessions", response_model=list[SessionOut])
def list_sessions(persona_id: DbId, db: DbSessionDep) -> list[SessionOut]:
    """The persona's conversations, newest first."""
    return [SessionOut.model_validate(s) for s in conversations.list_sessions(db, persona_id)]


@router.get("/sessions/{session_id}/messages", response_model=MessagesPage)
def list_messages(session_id: DbId, db: DbSessionDep,
                  before: Annotated[DbId | None, Query(description="page before this message id")] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> MessagesPage:
    """One page of a conversation, oldest first; the newest page when ``before`` is absent."""
    items, next_before = conversations.messages_page(db, session_id, before_id=before, limit=limit)
    return MessagesPage(items=[MessageOut.model_validate(m) for m in items], next_before=next_before)


@router.get("/personas/{persona_id}/facts", response_model=list[FactOut])
def list_facts(persona_id: DbId, db: DbSessionDep) -> list[FactOut]:
    """What the persona remembers about the user."""
    return [FactOut.model_validate(f) for f in memory.list_facts(db, persona_id)]


@router.delete("/personas/{persona_id}/facts/{key}", status_code=status.HTTP_204_NO_CONTENT,
               response_model=None)
def delete_fact(persona_id: DbId, key: str, db: DbSessionDep) -> Response:
    """Make the persona forget one fact."""
    memory.delete_fact(db, persona_id, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
