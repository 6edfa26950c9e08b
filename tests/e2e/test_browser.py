"""The whole product in a real browser: Debian's Chromium driven by playwright-core (frontend/e2e/run.mjs)
at its default autoplay policy, against the real server with the real engines. Each flow goes through the
lobby, hears the avatar (audio energy of its <video>), counts its frames while it speaks, runs axe on
every screen and fails on any console error. Screenshots are kept in out/e2e/<flow>/."""

from __future__ import annotations

from tests.e2e.flows import Media, run_flow


def test_phone_default_persona_in_chromium(server_url: str, media: Media, chromium: str):
    """390x844 touch screen, the default persona: lobby, greeting, push-to-talk by touch, reply."""
    out = run_flow("phone", server_url, media, chromium)
    assert (out / "phone-reply.png").stat().st_size > 10_000


def test_wizard_then_spoken_question_in_chromium(server_url: str, media: Media, chromium: str):
    """Desktop: the wizard, then the new persona through the lobby, a question by push-to-talk, the
    reply, the settings and persona management screens."""
    voices = [arg for voice in media.voices for arg in ("--voice", str(voice))]
    out = run_flow("desktop", server_url, media, chromium, "--photo", str(media.photo), *voices)
    assert (out / "conversation.png").stat().st_size > 10_000
