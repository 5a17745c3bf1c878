"""`make audit`: pip-audit over the pinned locks, never silently green.

pip-audit asks a vulnerability service about every `name==version` of a lock (--no-deps, --disable-pip:
the locks are complete pins, nothing is installed or resolved). Three outcomes are kept apart:

- the service did not answer (no network, blocked, or a mirror that serves PyPI's pages but not its
  per-version JSON, where pip-audit reports every package "not found" and would otherwise exit 0 with
  "No known vulnerabilities found"): one line saying nothing was checked, exit 2;
- some packages could not be checked: they are named, exit 1;
- advisories: each is either accepted in requirements/audit-accepted.txt (a release cap we cannot lift,
  e.g. rasa 3.6.21's, or a judged advisory with no fixed release) and listed on every run, or new, exit 1.

Usage: python requirements/audit.py LOCK... (AUDIT_SERVICE=pypi|osv, AUDIT_OSV_URL, AUDIT_TIMEOUT).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

HERE = Path(__file__).resolve().parent
ACCEPTED = HERE / "audit-accepted.txt"
UNREACHABLE = "pip-audit could not reach its vulnerability service ({why}): nothing was checked"
# what pip-audit dies of when the service is down, unreachable, or answers with an HTTP error
NETWORK_WORDS = (
    "ConnectionError",
    "NameResolution",
    "Timeout",
    "timed out",
    "network may be blocking",
    "SSLError",
    "ServiceError",
)


@dataclass
class Accepted:
    held: dict[str, tuple[SpecifierSet, str]] = field(default_factory=dict)  # package -> (range we allow, who)
    no_fix: dict[str, set[str]] = field(default_factory=dict)  # package -> advisory ids judged


def read_accepted(path: Path) -> Accepted:
    accepted = Accepted()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        kind, package, rest = line[0], canonicalize_name(line[1]), line[2:]
        if kind == "held" and rest:
            accepted.held[package] = (SpecifierSet(rest[0]), " ".join(rest[1:]))
        elif kind == "no-fix" and rest:
            accepted.no_fix.setdefault(package, set()).update(rest)
        else:
            raise SystemExit(f"{path.name}:{number}: expected 'held PACKAGE SPEC WHO' or 'no-fix PACKAGE ID...'")
    return accepted


@dataclass
class Finding:
    package: str
    version: str
    id: str
    aliases: list[str]
    fixes: list[str]

    def names(self) -> set[str]:
        return {self.id, *self.aliases}

    def label(self) -> str:
        also = sorted(a for a in self.aliases if a != self.id and a.startswith(("CVE-", "GHSA-")))
        fixed = f"fixed in {', '.join(self.fixes)}" if self.fixes else "no fixed release"
        return f"{self.id}{f' ({also[0]})' if also else ''}, {fixed}"


def verdict(finding: Finding, accepted: Accepted) -> str:
    """'held', 'no-fix' (both accepted) or 'new'."""
    if not finding.fixes:
        return "no-fix" if finding.names() & accepted.no_fix.get(finding.package, set()) else "new"
    held = accepted.held.get(finding.package)
    # A fix is in reach when it is newer than our pin and inside what our pins allow (a fix on an
    # older release line, e.g. 3.8.6 next to our 3.9.5, does not mend ours).
    reachable = [
        fix for fix in finding.fixes if Version(fix) > Version(finding.version) and (not held or fix in held[0])
    ]
    return "held" if held and not reachable else "new"


def run_pip_audit(lock: Path) -> tuple[int, dict[str, Any] | None, str]:
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--no-deps", "--disable-pip"]
        command += ["-f", "json", "-o", str(out), "--aliases", "on", "--desc", "off", "--progress-spinner", "off"]
        command += ["-s", service, "--timeout", os.environ.get("AUDIT_TIMEOUT", "15")]
        if os.environ.get("AUDIT_OSV_URL"):
            command += ["--osv-url", os.environ["AUDIT_OSV_URL"]]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        report = json.loads(out.read_text(encoding="utf-8")) if out.is_file() and out.stat().st_size else None
    return done.returncode, report, done.stderr


def last_error_line(stderr: str) -> str:
    """The exception pip-audit died of, short: its type, the host it tried, the innermost reason."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("WARNING:")]
    if not lines:
        return "no output"
    last = lines[-1]
    kind = last.split(":", 1)[0].rsplit(".", 1)[-1]
    host = re.search(r"host='([^']+)'", last)
    reason = re.findall(r"\(([^()]*?)\)\)*$", last) or re.findall(r"\[Errno[^\]]*\][^'\")]*", last)
    parts = [kind, f"host {host.group(1)}" if host else "", reason[-1] if reason else ""]
    return ", ".join(p for p in parts if p) if host else last[:200]


def audit(lock: Path, accepted: Accepted) -> int:
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    code, report, stderr = run_pip_audit(lock)
    if report is None:
        why = last_error_line(stderr)
        if any(word in stderr for word in NETWORK_WORDS):
            print(UNREACHABLE.format(why=f"{service}: {why}"))
        else:
            print(f"pip-audit failed on {lock} (exit {code}: {why}): nothing was checked")
        return 2

    deps = report.get("dependencies", [])
    skipped = [d for d in deps if "skip_reason" in d]
    if deps and len(skipped) == len(deps):
        why = f"{service}: every pinned version came back unknown, e.g. {skipped[0]['skip_reason']}"
        print(UNREACHABLE.format(why=why))
        return 2

    findings = [
        Finding(canonicalize_name(d["name"]), d["version"], v["id"], v.get("aliases", []), v.get("fix_versions", []))
        for d in deps
        if "skip_reason" not in d
        for v in d.get("vulns", [])
    ]
    sorted_findings = sorted(findings, key=lambda f: (f.package, f.id))
    by_verdict = {
        kind: [f for f in sorted_findings if verdict(f, accepted) == kind] for kind in ("held", "no-fix", "new")
    }
    print(f"{lock}: {len(deps) - len(skipped)} of {len(deps)} pinned packages checked ({service})")
    for finding in by_verdict["held"]:
        spec, who = accepted.held[finding.package]
        print(f"  held   {finding.package} {finding.version}: {finding.label()}; we allow {spec} ({who})")
    for finding in by_verdict["no-fix"]:
        print(f"  judged {finding.package} {finding.version}: {finding.label()}")
    for finding in by_verdict["new"]:
        print(f"  NEW    {finding.package} {finding.version}: {finding.label()}")
    for dep in skipped:
        print(f"  NOT CHECKED {dep['name']} {dep['version']}: {dep['skip_reason']}")
    if by_verdict["new"] or skipped:
        print("  -> upgrade, or judge it and record why it stays (requirements/audit-accepted.txt and")
        print("     docs/security-dependencies.md)")
        return 1
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit(__doc__)
    accepted = read_accepted(ACCEPTED)
    worst = 0
    for lock in map(Path, argv):
        result = audit(lock, accepted)
        if result == 2:
            return 2  # the service is down for every lock alike: one line is enough
        worst = max(worst, result)
    print("audit: no new advisories" if worst == 0 else "audit: FAILED (see above)")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
