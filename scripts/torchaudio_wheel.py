"""Build a pure-Python torchaudio wheel for a torch that has no matching torchaudio.

Why: coqui-tts (the XTTS-v2 engine) refuses to import without ``torchaudio`` and uses it for three
pure-Python things only: ``functional.resample``, ``transforms.MelSpectrogram`` and ``load`` (which
since torchaudio 2.9 just calls torchcodec). Every torchaudio wheel for Linux x86-64 on PyPI is a
CUDA build whose C++ extension links ``libtorch_cuda.so`` / ``libc10_cuda.so`` and a fixed torch
ABI, so ``import torchaudio`` fails with our CPU torch (and with any torch but the one it was built
against: torchaudio's last release is 2.11, torch here is 2.13).

torchaudio supports running without its extension: ``torchaudio._extension._load_lib`` returns
False when ``torchaudio/lib`` holds no library (its "pex" deployment path), and everything that does
not need the C++ ops keeps working. This script takes the official wheel from PyPI with ``pip
download``, leaves out the compiled libraries, and writes a ``py3-none-any`` wheel with the local
version ``+pyonly`` and a fresh RECORD. Nothing inside site-packages is touched by hand: the result
installs and uninstalls through pip like any wheel.

    python scripts/torchaudio_wheel.py [--version 2.11.0] [--out DIR]   # prints the wheel's path
    pip install --no-deps "$(python scripts/torchaudio_wheel.py)"
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DEFAULT_VERSION = "2.11.0"
LOCAL = "pyonly"
NATIVE_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def repack(source: Path, out_dir: Path) -> Path:
    """Write the pure-Python copy of the torchaudio wheel ``source`` into ``out_dir``."""
    name, version = source.name.split("-")[:2]
    new_version = f"{version.split('+')[0]}+{LOCAL}"
    old_info, new_info = f"{name}-{version}.dist-info", f"{name}-{new_version}.dist-info"
    target = out_dir / f"{name}-{new_version}-py3-none-any.whl"
    records: list[str] = []
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            path = item.filename
            if path.endswith(NATIVE_SUFFIXES) or path == f"{old_info}/RECORD" or path.endswith("/"):
                continue
            data = src.read(item)
            if path.startswith(f"{old_info}/"):
                path = f"{new_info}/{path.split('/', 1)[1]}"
                if path.endswith("/METADATA"):
                    data = data.replace(f"\nVersion: {version}\n".encode(), f"\nVersion: {new_version}\n".encode())
                elif path.endswith("/WHEEL"):
                    lines = [ln for ln in data.decode().splitlines()
                             if ln.strip() and not ln.startswith(("Tag:", "Root-Is-Purelib:"))]
                    data = ("\n".join([*lines, "Root-Is-Purelib: true", "Tag: py3-none-any"]) + "\n").encode()
            dst.writestr(path, data)
            records.append(f"{path},{_record_hash(data)},{len(data)}")
        records.append(f"{new_info}/RECORD,,")
        dst.writestr(f"{new_info}/RECORD", "\n".join(records) + "\n")
    return target


def download(version: str, into: Path) -> Path:
    """``pip download`` the official torchaudio wheel for this interpreter and platform."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                    "-d", str(into), f"torchaudio=={version}"], check=True, stdout=sys.stderr)
    wheels = sorted(into.glob(f"torchaudio-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download gave no torchaudio {version} wheel")
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="torchaudio version (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "avatar-wheels")
    parser.add_argument("--wheel", type=Path, help="repack this downloaded wheel instead of downloading")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = args.wheel or download(args.version, Path(tmp))
        print(repack(source, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
