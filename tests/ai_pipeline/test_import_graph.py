"""The import graph of ai_pipeline/: no two stage packages import each other, even in a roundabout way,
TTS knows only the plain voice record of the voice stage, and the pipeline never imports the backend.

Every import statement counts, wherever it is written: at the top of a module, under
``if TYPE_CHECKING``, or inside a function (an import moved into a function hides a loop from
Python's import machinery, not from the design), plus ``importlib.import_module("...")`` with a
literal name. Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``, so those
count as imported too. The graph is read from the source (``ast``): nothing is imported.

A *stage package* is a folder of ``ai_pipeline`` (``asr``, ``tts``, ``voice``, ...). The modules
at the top (``settings``, ``registry``, ``runner``, ...) compose the stages and may import any of
them, so a path through them is not a loop between two stages; the cycle check looks at the imports
among the stage packages' own modules.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import ai_pipeline

ROOT = Path(ai_pipeline.__file__).resolve().parent


@dataclass(frozen=True)
class Import:
    target: str  # the dotted name as written (resolved if relative)
    path: Path
    line: int

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root.parent)}:{self.line}"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path) -> list[Import]:
    """Every import in the file, anywhere in it (names as written, relative ones resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(Import(module, path, node.lineno))
            found += [Import(f"{module}.{alias.name}", path, node.lineno) for alias in node.names
                      if alias.name != "*"]  # ``from pkg import submodule`` imports the submodule
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"}))):
            found.append(Import(node.args[0].value, path, node.lineno))
    return found


def module_graph(root: Path = ROOT) -> dict[str, dict[str, Import]]:
    """module -> {module of this package it imports (or runs, as a parent package): the import}."""
    files = module_files(root)
    graph: dict[str, dict[str, Import]] = {}
    for name, path in files.items():
        edges: dict[str, Import] = {}
        for imp in imports_of(name, path):
            target = imp.target
            while target and target not in files:  # ``from mod import function`` names a module's attribute
                target = target.rpartition(".")[0]
            while target:  # the module and every package above it
                if target != name:
                    edges.setdefault(target, imp)
                target = target.rpartition(".")[0]
        graph[name] = edges
    return graph


def stage_of(module: str, root: Path = ROOT) -> str | None:
    """The stage package a module belongs to (``ai_pipeline.tts.base`` -> ``tts``); None at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (root / parts[1] / "__init__.py").is_file() else None


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def stage_cycles(root: Path = ROOT) -> list[list[str]]:
    """Each import loop that spans two or more stage packages, as the imports that cross packages in it."""
    graph = module_graph(root)
    staged = {m: {t for t in edges if stage_of(t, root) is not None}
              for m, edges in graph.items() if stage_of(m, root) is not None}
    loops = []
    for component in strongly_connected(staged):
        if len({stage_of(m, root) for m in component}) > 1:
            loops.append(sorted(f"{graph[m][t].where(root)}: {m} imports {t}" for m in component
                                for t in staged[m] & component if stage_of(m, root) != stage_of(t, root)))
    return sorted(loops)


def test_no_import_cycle_between_stage_packages():
    loops = stage_cycles()
    assert not loops, "import loops between stage packages:\n" + "\n\n".join("\n".join(loop) for loop in loops)


def test_tts_knows_only_the_voice_record():
    """TTS may name the plain ``Voice`` record; matching, preparation and similarity live in the voice
    stage, which wraps TTS (ai_pipeline.voice.speaker) and so may import it, never the other way round."""
    graph = module_graph()
    allowed = {"ai_pipeline.voice", "ai_pipeline.voice.base"}
    wrong = sorted(f"{imp.where(ROOT)}: {m} imports {t}" for m, edges in graph.items() if stage_of(m) == "tts"
                   for t, imp in edges.items() if stage_of(t) == "voice" and t not in allowed)
    assert not wrong, "TTS imports the voice stage:\n" + "\n".join(wrong)
    for record in allowed:  # what TTS may import stays free of TTS (and of the rest of the voice stage)
        assert not {t for t in graph[record] if stage_of(t) in {"tts", "voice"}} - allowed, graph[record]


def test_the_pipeline_never_imports_the_backend():
    wrong = sorted(f"{imp.where(ROOT)}: imports {imp.target}" for name, path in module_files().items()
                   for imp in imports_of(name, path) if imp.target.split(".")[0] == "backend")
    assert not wrong, "ai_pipeline imports the backend:\n" + "\n".join(wrong)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """The checks above are only as good as the graph: a loop hidden in a function or under TYPE_CHECKING,
    a relative import and ``importlib.import_module`` all count."""
    pkg = tmp_path / "ai_pipeline"
    for folder in ("a", "b", "c", "d"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "top.py").write_text("from ai_pipeline.a import one\nfrom ai_pipeline.b.two import f\n")
    (pkg / "a" / "one.py").write_text("def f():\n    from ai_pipeline.b import two\n")
    (pkg / "b" / "two.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                      "    from ai_pipeline.a.one import f\n")
    (pkg / "c" / "three.py").write_text("from ..d import four\n")
    (pkg / "d" / "four.py").write_text("import importlib\nimportlib.import_module('ai_pipeline.c.three')\n")
    assert stage_cycles(pkg) == [  # the top level composes the stages: it is in no loop
        ["ai_pipeline/a/one.py:2: ai_pipeline.a.one imports ai_pipeline.b.two",
         "ai_pipeline/b/two.py:3: ai_pipeline.b.two imports ai_pipeline.a.one"],
        ["ai_pipeline/c/three.py:1: ai_pipeline.c.three imports ai_pipeline.d.four",
         "ai_pipeline/d/four.py:2: ai_pipeline.d.four imports ai_pipeline.c.three"]]
    (pkg / "b" / "two.py").write_text("X = 1\n")
    (pkg / "c" / "three.py").write_text("")
    assert stage_cycles(pkg) == []
    (pkg / "b" / "__init__.py").write_text("from ai_pipeline.a.one import f\n")  # run by importing b.two
    (pkg / "a" / "one.py").write_text("from ai_pipeline.b.two import X\n")
    assert len(stage_cycles(pkg)) == 1
