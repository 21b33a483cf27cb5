from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from leadsync.spec import LoadedSpec, load_spec  # noqa: E402

# the `sandboxes` fixture, for every test module that asks for it by name
pytest_plugins = ["sandbox.support", "pgcluster"]


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., LoadedSpec]:
    """Write a spec (and any files beside it) into a fresh folder and load it."""

    def make(text: str, files: dict[str, str] | None = None, name: str = "spec.yaml") -> LoadedSpec:
        for relative, content in (files or {}).items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        (tmp_path / name).write_text(text, encoding="utf-8")
        return load_spec(tmp_path / name)

    return make


@pytest.fixture(autouse=True, scope="session")
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Vendor workspaces' locks and journals are machine-wide; the suite's stay in its own folder (subprocesses
    too)."""
    os.environ["LEADSYNC_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
