"""The installation's own secrets: made on first start into `.run/secrets.env`, reused afterwards,
and refused when they are empty or a placeholder.

    SESSION_SECRET       signs the staff console's notice cookie (the app; sign-ins are kept on the server)
    SERVICE_TOKEN        the action server presents it to the app's JSON API
    ACTION_SERVER_TOKEN  the engine presents it to the action server
    ENGINE_API_TOKEN     opens the engine's HTTP API (`rasa run --auth-token`) to our own tools

A deployment provides its own by setting these variables in the environment (they win over the
file) or by writing the file itself (LINLI_SECRETS_FILE says where). Standard library only: the
launcher (app environment) writes the file and the action server (engine environment) checks
what it is given.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

NAMES = ("SESSION_SECRET", "SERVICE_TOKEN", "ACTION_SERVER_TOKEN", "ENGINE_API_TOKEN")
MIN_LENGTH = 32
# A value anyone could have read (a README example, an old default) is no secret. Placeholders
# are spotted by their words and by being short or repetitive; generated values never are.
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "example", "placeholder", "default")
MIN_DISTINCT_CHARACTERS = 12


class WeakSecret(ValueError):
    """A process was given a secret it must not run with."""


def problem(name: str, value: str | None) -> str:
    """Why `value` cannot serve as secret `name`; empty when it can."""
    if not value:
        return f"{name} is empty"
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return f"{name} is a placeholder, not a secret"
    if len(value) < MIN_LENGTH:
        return f"{name} is too short ({len(value)} characters; at least {MIN_LENGTH})"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"{name} is too repetitive to be a secret"
    return ""


def require(values: Mapping[str, str | None]) -> None:
    """Refuse to go on with any weak secret: a process calls this before it opens a port."""
    problems = [p for name, value in values.items() if (p := problem(name, value))]
    if problems:
        raise WeakSecret(
            "; ".join(problems) + ". `make run` makes per-installation secrets in .run/secrets.env; "
            "a deployment sets its own (README: Secrets)."
        )


def default_file(project_root: Path) -> Path:
    return Path(os.environ.get("LINLI_SECRETS_FILE") or project_root / ".run" / "secrets.env")


def read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def ensure(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Every secret, from the environment, else the file, else newly generated and added to the
    file (mode 600). A weak value from either source stops the start (WeakSecret)."""
    stored = read(path)
    chosen: dict[str, str] = {}
    added = False
    for name in NAMES:
        if environ.get(name):
            chosen[name] = environ[name]
        elif stored.get(name):
            chosen[name] = stored[name]
        else:
            stored[name] = chosen[name] = secrets.token_urlsafe(32)
            added = True
    require(chosen)
    if added:
        _write(path, stored)
    elif path.exists() and path.stat().st_mode & 0o077:
        path.chmod(0o600)  # readable by others: the secrets are only as safe as the file
    return chosen


def _write(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("# Linli's secrets for this installation, made on first start. Keep this file private.\n")
        out.writelines(f"{key}={value}\n" for key, value in values.items())
    os.replace(draft, path)  # never a half-written file, and the mode is set before anything is in it
