"""`make voice-model`: fetch the Chinese Vosk model from its official address, check its size and
SHA-256 before unpacking, and unpack it under models/voice/. Nothing is unpacked from a file that
does not match, and a partial download never takes the place of a good one.

    python -m voice.model_download [--url URL] [--sha256 HEX] [--size BYTES] [--into DIR]
"""

import argparse
import hashlib
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import httpx

NAME = "vosk-model-small-cn-0.22"
URL = f"https://alphacephei.com/vosk/models/{NAME}.zip"
# The published archive (43,898,754 bytes); the same digest is pinned by several independent
# projects that install this model.
SHA256 = "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba"
SIZE = 43_898_754
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "models" / "voice"


class DownloadError(RuntimeError):
    pass


def download(url: str, into: Path) -> Path:
    into.parent.mkdir(parents=True, exist_ok=True)
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as reply:
            reply.raise_for_status()
            with into.open("wb") as out:
                for chunk in reply.iter_bytes(1 << 16):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise DownloadError(f"could not download {url}: {exc}") from exc
    return into


def check(archive: Path, *, sha256: str, size: int | None) -> None:
    actual_size = archive.stat().st_size
    if size is not None and actual_size != size:
        raise DownloadError(f"{archive.name}: {actual_size} bytes, expected {size}")
    digest = hashlib.sha256()
    with archive.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256.lower():
        raise DownloadError(f"{archive.name}: SHA-256 {digest.hexdigest()} does not match {sha256}")


def unpack(archive: Path, into: Path) -> Path:
    """Unpack next to the target, then move into place: the model directory is whole or absent."""
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        top = {n.split("/", 1)[0] for n in names}
        if len(top) != 1 or any(n.startswith("/") or ".." in Path(n).parts for n in names):
            raise DownloadError(f"{archive.name}: unexpected layout {sorted(top)[:3]}")
        staging = Path(tempfile.mkdtemp(dir=into))
        zipped.extractall(staging)
    model = into / top.pop()
    if model.exists():
        shutil.rmtree(model)
    (staging / model.name).rename(model)
    shutil.rmtree(staging)
    return model


def install(*, url: str = URL, sha256: str = SHA256, size: int | None = SIZE, into: Path = DEFAULT_DIR) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    archive = into / (url.rsplit("/", 1)[-1] or "model.zip")
    part = archive.with_name(archive.name + ".part")
    if not archive.exists():
        download(url, part)
        try:
            check(part, sha256=sha256, size=size)
        except DownloadError:
            part.unlink()
            raise
        part.rename(archive)
    check(archive, sha256=sha256, size=size)  # an archive kept from an earlier run is checked again
    return unpack(archive, into)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=URL)
    parser.add_argument("--sha256", default=SHA256)
    parser.add_argument("--size", type=int, default=SIZE, help="expected bytes (0: do not check)")
    parser.add_argument("--into", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    try:
        model = install(url=args.url, sha256=args.sha256, size=args.size or None, into=args.into)
    except DownloadError as problem:
        print(f"voice model not installed: {problem}", file=sys.stderr)
        return 1
    print(f"voice model ready: {model}\n(make run finds it there; or set VOSK_MODEL_PATH={model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
