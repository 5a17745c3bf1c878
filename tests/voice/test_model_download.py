"""`make voice-model` against a real HTTP server on this machine (the official address is out of
reach here): a matching archive is unpacked into place, a tampered one is refused and leaves
nothing behind, and an archive kept from an earlier run is checked again before use."""

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice import model_download


def model_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("vosk-model-test/am/final.mdl", b"acoustic model")
        z.writestr("vosk-model-test/conf/model.conf", b"--sample-frequency=16000\n")
    return out.getvalue()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()


def test_a_matching_archive_is_unpacked(server: tuple[str, Path], tmp_path: Path) -> None:
    base, served = server
    data = model_zip()
    (served / "vosk-model-test.zip").write_bytes(data)
    into = tmp_path / "models"
    model = model_download.install(
        url=f"{base}/vosk-model-test.zip", sha256=hashlib.sha256(data).hexdigest(), size=len(data), into=into
    )
    assert model == into / "vosk-model-test"
    assert (model / "am" / "final.mdl").read_bytes() == b"acoustic model"
    assert not list(into.glob("*.part")) and not [p for p in into.iterdir() if p.name.startswith("tmp")]


def test_a_tampered_archive_is_refused_and_nothing_is_unpacked(server: tuple[str, Path], tmp_path: Path) -> None:
    base, served = server
    data = model_zip()
    (served / "vosk-model-test.zip").write_bytes(data + b"x")
    into = tmp_path / "models"
    code = model_download.main(
        [
            "--url",
            f"{base}/vosk-model-test.zip",
            "--sha256",
            hashlib.sha256(data).hexdigest(),
            "--size",
            "0",
            "--into",
            str(into),
        ]
    )
    assert code == 1
    assert list(into.iterdir()) == []  # no model, no archive, no partial download


def test_a_kept_archive_is_checked_again(tmp_path: Path) -> None:
    into = tmp_path / "models"
    into.mkdir()
    (into / "vosk-model-test.zip").write_bytes(b"not the model")
    with pytest.raises(model_download.DownloadError, match="SHA-256"):
        model_download.install(url="http://127.0.0.1:9/vosk-model-test.zip", sha256="00" * 32, size=None, into=into)
    assert not (into / "vosk-model-test").exists()


def test_an_unreachable_address_says_so(tmp_path: Path) -> None:
    with pytest.raises(model_download.DownloadError, match="could not download"):
        model_download.install(url="http://127.0.0.1:9/x.zip", sha256="00" * 32, size=None, into=tmp_path)
