"""Shared set-up of the hostile-vendor tests: the quickstart as an Instantly (or Sonarly) workspace whose key is a
canary, a sandbox upstream, the hostile vendor in front, and leadsync run as a user runs it (a child process)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs" / "examples"
CANARY = "sk_live_CANARY_4f9e2b7c1d8a6e3f"
KEY_ENV = "LEADSYNC_CANARY_KEY"


def encodings(secret: str) -> dict[str, str]:
    """Texts whose presence anywhere betrays `secret` (as tests/test_apply_secrets.py searches)."""
    raw = secret.encode()
    found = {"raw": secret, "hex": raw.hex(), "HEX": raw.hex().upper(), "reversed": secret[::-1],
             "url-all": "".join(f"%{b:02X}" for b in raw)}  # fmt: skip
    for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for shift in range(3):
            text = encode(b"\0" * shift + raw).decode()
            found[f"{name}+{shift}"] = text[(shift * 4 + 2) // 3 : -4]
    return found


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [name for name, needle in encodings(CANARY).items() if needle and needle.lower() in lowered]


def vendor_folder(folder: Path, example: str, provider: str) -> Path:
    """The example spec `example` (and its leads) in `folder`, moved from the embedded sandbox onto `provider`
    with the key in $LEADSYNC_CANARY_KEY."""
    for name in (f"{example}.yaml", f"{example}.leads.csv"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = folder / f"{example}.yaml"
    text = spec.read_text().replace(f"  provider: sandbox\n  seed: {example}.remote.json\n",
                                    f"  provider: {provider}\n  api_key_env: {KEY_ENV}\n")  # fmt: skip
    assert KEY_ENV in text
    spec.write_text(text)
    return spec


def instantly_folder(folder: Path) -> Path:
    """The quickstart in `folder`, as an Instantly workspace whose key is in $LEADSYNC_CANARY_KEY."""
    return vendor_folder(folder, "quickstart", "instantly")


def sonarly_folder(folder: Path) -> Path:
    """The Sonarly sandbox example in `folder`, as a Sonarly account group whose key is in $LEADSYNC_CANARY_KEY."""
    return vendor_folder(folder, "sonarly-sandbox", "sonarly")


def canary_seed() -> dict[str, object]:
    seed = json.loads((EXAMPLES / "quickstart.remote.json").read_text())
    seed["api_keys"] = [{"key": CANARY, "scopes": ["all:*"]}]
    return seed


@dataclass
class Run:
    code: int
    output: str  # stdout and stderr
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("Error: ")]


def run(folder: Path, url: str, *args: str, key: str = CANARY, timeout: float = 120, **env: str) -> Run:
    """`leadsync ARGS` in `folder` against the vendor at `url`, as a child process."""
    environment = {**os.environ, "LEADSYNC_INSTANTLY_BASE_URL": url, "LEADSYNC_SONARLY_BASE_URL": url, KEY_ENV: key,
                   "NO_COLOR": "1", "LEADSYNC_STATE_DIR": str(folder / ".state"), **env}  # fmt: skip
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "leadsync.cli", *args], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
    return Run(done.returncode, done.stdout + "\n" + done.stderr, time.monotonic() - started)


def files_text(folder: Path) -> dict[str, str]:
    """Every file under `folder`, as text: what a run left behind."""
    return {str(path.relative_to(folder)): path.read_bytes().decode("utf-8", "replace")
            for path in sorted(folder.rglob("*")) if path.is_file()}  # fmt: skip


def sonarly_canary_seed() -> dict[str, object]:
    seed = json.loads((EXAMPLES / "sonarly-sandbox.remote.json").read_text())
    seed["api_keys"] = [{"key": CANARY, "scopes": ["all:all"]}]
    return seed
