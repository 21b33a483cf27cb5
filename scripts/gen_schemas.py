"""Regenerates schemas/leadsync.schema.json from the pydantic models (a test fails when they drift apart).

python scripts/gen_schemas.py
"""

from __future__ import annotations

import json
from pathlib import Path

from leadsync.spec.models import spec_json_schema

ROOT = Path(__file__).resolve().parent.parent


def render() -> str:
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    (ROOT / "schemas" / "leadsync.schema.json").write_text(render(), encoding="utf-8")
