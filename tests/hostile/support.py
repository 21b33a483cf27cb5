"""Shared set-up of the hostile-vendor tests: the quickstart as an Instantly (or Sonarly) workspace whose key is a
canary, a sandbox upstream, the hostile vendor in front, and leadsync run as a user runs it (a child process)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs" / "examples"
#: the key the tests hide: `/`, `+` and `=` make its encodings differ from it (percent, base64 alphabets, JSON's \/)
CANARY = "sk_live/CANARY+4f9e2b7c1d8a6e3f=="
KEY_ENV = "LEADSYNC_CANARY_KEY"
#: how much of the key, anywhere, counts as a leak: a key cut short is still a key
WINDOW = 12


def _pieces(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw[i : i + WINDOW] for i in range(len(raw) - WINDOW + 1)]


def decodings(text: str) -> dict[str, bytes]:
    """`text` decoded every way a key could be hidden in it, found by decoding what is there (not by encoding the
    key the way the code under test does): percent-decoded, JSON-unescaped, each hex run and each base64 run (both
    alphabets, at each of the four places a run may start) decoded."""
    found = {
        "raw": text.encode("utf-8", "replace"),
        "reversed": text[::-1].encode("utf-8", "replace"),
        "percent": unquote_to_bytes(text),
        "percent+": unquote_to_bytes(text.replace("+", " ")),
        "json": json_unescape(text).encode("utf-8", "replace"),
    }
    hexes = [
        bytes.fromhex(run[i : len(run) - (len(run) - i) % 2])
        for run in re.findall(r"[0-9a-fA-F]{20,}", text)
        for i in (0, 1)
    ]
    found["hex"] = b"\0".join(hexes)
    decoded = []
    for run in re.findall(r"[A-Za-z0-9+/_=-]{16,}", text):
        for start in range(4):
            chunk = run[start:].rstrip("=")
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            for alphabet in (b"+/", b"-_"):
                with contextlib.suppress(ValueError):
                    decoded.append(base64.b64decode(chunk, altchars=alphabet, validate=False))
    found["base64"] = b"\0".join(decoded)
    return found


def json_unescape(text: str) -> str:
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else m[1], text)


def leaks(text: str) -> list[str]:
    """The ways `text` betrays some WINDOW characters of the canary, if any."""
    pieces = _pieces(CANARY)
    return [how for how, data in decodings(text).items() if any(piece in data for piece in pieces)]


def vendor_folder(folder: Path, example: str, provider: str) -> Path:
    """The example spec `example` (and its leads) in `folder`, moved from the embedded sandbox onto `provider`
    with the key in $LEADSYNC_CANARY_KEY."""
    for name in (f"{example}.yaml", f"{example}.leads.csv"):
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    spec = folder / f"{example}.yaml"
    text = spec.read_text().replace(
        f"  provider: sandbox\n  seed: {example}.remote.json\n", f"  provider: {provider}\n  api_key_env: {KEY_ENV}\n"
    )
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
    environment = {
        **os.environ,
        "LEADSYNC_INSTANTLY_BASE_URL": url,
        "LEADSYNC_SONARLY_BASE_URL": url,
        KEY_ENV: key,
        "NO_COLOR": "1",
        "LEADSYNC_STATE_DIR": str(folder / ".state"),
        **env,
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "leadsync.cli", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout + "\n" + done.stderr, time.monotonic() - started)


def files_text(folder: Path) -> dict[str, str]:
    """Every file under `folder`, as text: what a run left behind."""
    return {
        str(path.relative_to(folder)): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def sonarly_canary_seed() -> dict[str, object]:
    seed = json.loads((EXAMPLES / "sonarly-sandbox.remote.json").read_text())
    seed["api_keys"] = [{"key": CANARY, "scopes": ["all:all"]}]
    return seed
