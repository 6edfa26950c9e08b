"""The web app's wire types are generated from the server's models and committed: regenerating them
(scripts/gen_types.py, with the npm tools scripts/test.sh installed) must give the committed files."""

from __future__ import annotations

import subprocess
import sys

from ai_pipeline.settings import REPO_ROOT

GENERATED = ("frontend/src/api/openapi.gen.ts", "frontend/src/realtime/events.gen.ts")


def test_committed_types_match_the_servers_models(tmp_path):
    done = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gen_types.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, f"gen_types.py failed:\n{done.stdout}\n{done.stderr}"
    stale = [path for path in GENERATED if (tmp_path / path).read_text() != (REPO_ROOT / path).read_text()]
    assert not stale, f"stale generated types {stale}: run .venv/bin/python scripts/gen_types.py (npm run gen:types)"


def test_the_web_app_uses_the_generated_types():
    """types.ts and protocol.ts name the generated types instead of copying them by hand."""
    types = (REPO_ROOT / "frontend/src/api/types.ts").read_text()
    protocol = (REPO_ROOT / "frontend/src/realtime/protocol.ts").read_text()
    assert 'from "./openapi.gen"' in types and 'from "./events.gen"' in protocol
    for name in ("interface Persona ", "interface UiSettings", "interface EngineOption", "interface Health"):
        assert name not in types, f"{name.strip()} is hand-written again in types.ts"
    for name in ("interface ReadyEvent", "interface MediaEvent", "interface ErrorEvent", "interface StartMessage"):
        assert name not in protocol, f"{name.strip()} is hand-written again in protocol.ts"
