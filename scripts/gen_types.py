"""Generate the web app's wire types from the server's own models (the generated files are committed).

* ``frontend/src/api/openapi.gen.ts``: the REST API, from the FastAPI app's OpenAPI schema
  (``openapi-typescript``);
* ``frontend/src/realtime/events.gen.ts``: the conversation's Socket.IO events, from the pydantic
  models in ``backend/realtime/events.py`` (their JSON Schema, through ``json-schema-to-typescript``).

Run after changing a route's models or an event: ``.venv/bin/python scripts/gen_types.py`` (or
``npm run gen:types`` in frontend/). ``--out DIR`` writes the files under DIR instead (same relative
paths); ``--check`` only says whether the committed files are current. Both tools are the web app's
npm devDependencies (``npm ci`` in frontend/ first); tests/test_generated_types.py runs ``--check``.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FRONTEND = REPO / "frontend"
OPENAPI_TS = Path("frontend/src/api/openapi.gen.ts")
EVENTS_TS = Path("frontend/src/realtime/events.gen.ts")
BIN = FRONTEND / "node_modules" / ".bin"

EVENTS_BANNER = """/**
 * The "/conversation" Socket.IO events, generated from backend/realtime/events.py by scripts/gen_types.py.
 * Do not edit: change the pydantic models and run `npm run gen:types`.
 */"""

# json-schema-to-typescript's API, fed the schema on stdin (its CLI cannot turn off formatting quirks)
JSON2TS = """
import { compile } from "json-schema-to-typescript";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { schema, banner } = JSON.parse(input);
const ts = await compile(schema, schema.title, {
  bannerComment: banner,
  additionalProperties: false,
  unreachableDefinitions: true,
  declareExternallyReferenced: true,
  style: { printWidth: 120, singleQuote: false, trailingComma: "all" },
});
process.stdout.write(ts);
"""


def _run(cmd: list[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=FRONTEND, check=False)
    except FileNotFoundError as exc:
        sys.exit(f"{cmd[0]} not found ({exc}): install Node.js 20 and run `npm ci` in frontend/")
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:2])} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def openapi_schema() -> dict[str, Any]:
    """The REST app's OpenAPI document (nothing is loaded: the app is built, not started)."""
    from ai_pipeline.settings import Settings
    from backend.app import create_app

    with tempfile.TemporaryDirectory() as data:  # no saved web-app choices, no database touched
        return create_app(Settings(data_dir=Path(data))).openapi()


def openapi_ts(schema: dict[str, Any]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "openapi.json", Path(tmp) / "openapi.gen.ts"
        source.write_text(json.dumps(schema, ensure_ascii=False))
        # --default-non-nullable false: a request field with a default stays optional (PersonaIn.gender...)
        _run([str(BIN / "openapi-typescript"), str(source), "--output", str(out), "--default-non-nullable", "false"])
        return out.read_text()


def _untitled(node: Any, top: bool = False) -> Any:
    """Drop the titles pydantic gives every property ("Session Id"): json-schema-to-typescript would make
    each one a named type alias. The models' own titles (the interface names) stay."""
    if isinstance(node, dict):
        out = {k: _untitled(v) for k, v in node.items() if k != "title" or top}
        if "$defs" in node:
            out["$defs"] = {name: _untitled(d, top=True) for name, d in node["$defs"].items()}
        return out
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node


def events_ts() -> str:
    from backend.realtime.events import protocol_schema

    schema = _untitled(copy.deepcopy(protocol_schema()), top=True)
    ts = _run(["node", "--input-type=module", "-e", JSON2TS], json.dumps({"schema": schema, "banner": EVENTS_BANNER}))
    head, _, body = ts.partition("*/\n")
    return f'{head}*/\n\nimport type {{ Binary }} from "./protocol";\n{body}'


def generate() -> dict[Path, str]:
    """Every generated file's path (relative to the repository) and text."""
    return {OPENAPI_TS: openapi_ts(openapi_schema()), EVENTS_TS: events_ts()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO, help="write under this folder (default: the repository)")
    parser.add_argument("--check", action="store_true", help="fail when a committed file differs from a fresh one")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [str(p) for p, text in files.items() if not (REPO / p).is_file() or (REPO / p).read_text() != text]
        if stale:
            print(f"stale generated types: {', '.join(stale)} (run .venv/bin/python scripts/gen_types.py)")
            return 1
        print(f"generated types are current: {', '.join(map(str, files))}")
        return 0
    for path, text in files.items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
