"""Files leadsync writes (issue #25): `--out` writes only a regular file (a device, FIFO, socket, link or a path
under /proc, /sys or /dev is refused, never replaced); `import` replaces an existing spec or CSV only with
--force; a vendor's field that would start a spreadsheet formula is written as text."""

from __future__ import annotations

import csv
import json
import os
import socket
from pathlib import Path

import pytest
from cli_run import leadsync

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("quickstart.yaml", "quickstart.leads.csv", "quickstart.remote.json"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path / "quickstart.yaml"


@pytest.mark.parametrize("kind", ["fifo", "socket"])
@pytest.mark.parametrize("command", ["plan", "snapshot"])
def test_out_refuses_what_is_not_a_regular_file(quickstart: Path, kind: str, command: str) -> None:
    target = quickstart.parent / "out.json"
    if kind == "fifo":
        os.mkfifo(target)
        holder = None
    else:
        holder = socket.socket(socket.AF_UNIX)
        holder.bind(str(target))
    try:
        code, _, err = leadsync(command, "quickstart.yaml", "--out", "out.json", "--remote", "quickstart.remote.json") \
            if command == "plan" else leadsync(command, "quickstart.yaml", "--out", "out.json")  # fmt: skip
        assert code == 1 and "not a regular file" in err, err
        assert not target.is_file() and target.exists()  # still the FIFO or the socket
    finally:
        if holder is not None:
            holder.close()


@pytest.mark.parametrize("path", ["/dev/null", "/dev/full", "/proc/self/environ", "/sys/kernel/notes"])
def test_out_refuses_the_system_folders(quickstart: Path, path: str) -> None:
    before = os.stat(path) if os.path.exists(path) else None
    code, _, err = leadsync("plan", "quickstart.yaml", "--remote", "quickstart.remote.json", "--out", path)
    assert code == 1 and "not an ordinary file" in err, err
    if before is not None:
        after = os.stat(path)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # the device is still the device


def test_out_replaces_a_regular_file(quickstart: Path) -> None:
    target = quickstart.parent / "plan.json"
    target.write_text("old\n")
    assert leadsync("plan", "quickstart.yaml", "--remote", "quickstart.remote.json", "--out", "plan.json")[0] == 0
    assert json.loads(target.read_text())["format_version"] == 2


def test_import_never_replaces_a_file_without_force(quickstart: Path) -> None:
    spec_text = quickstart.read_text()
    code, _, err = leadsync("import", "quickstart.yaml", "--out", "quickstart.yaml")
    assert code == 1 and "quickstart.yaml exists; import replaces a file only with --force" in err
    assert quickstart.read_text() == spec_text  # the hand-written spec is whole
    (quickstart.parent / "new.leads.csv").write_text("mine\n")
    code, _, err = leadsync("import", "quickstart.yaml", "--out", "new.yaml")
    assert code == 1 and "new.leads.csv exists" in err
    assert (quickstart.parent / "new.leads.csv").read_text() == "mine\n"
    code, _, err = leadsync("import", "quickstart.yaml", "--out", "new.yaml", "--force")
    assert code == 0, err


def test_imported_cells_never_run_as_formulas(quickstart: Path) -> None:
    seed = json.loads((quickstart.parent / "quickstart.remote.json").read_text())
    hostile = ['=HYPERLINK("https://x.test","hi")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]
    for lead, value in zip(seed["leads"], hostile, strict=False):
        lead["first_name"] = value
    (quickstart.parent / "quickstart.remote.json").write_text(json.dumps(seed))
    code, _, err = leadsync("import", "quickstart.yaml", "--out", "adopted.yaml")
    assert code == 0, err
    with (quickstart.parent / "adopted.leads.csv").open(newline="", encoding="utf-8") as handle:
        cells = [row["first_name"] for row in csv.DictReader(handle)]
    for value in hostile:
        assert "'" + value in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    code, out, err = leadsync("plan", "adopted.yaml", "--detailed-exitcode")
    assert code == 0 and out.rstrip().endswith("No changes."), out + err
