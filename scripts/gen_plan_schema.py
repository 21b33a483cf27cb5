"""Regenerates schemas/plan.schema.json and its packaged copy from the plan document's definition.

python scripts/gen_plan_schema.py

The definition is leadsync/plan/_schema.py; tests/test_plan_document.py fails when a committed file differs
from what this writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from leadsync.plan._schema import plan_json_schema

ROOT = Path(__file__).resolve().parent.parent
TARGETS = (ROOT / "schemas" / "plan.schema.json", ROOT / "leadsync" / "schemas" / "plan.schema.json")


def render() -> str:
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for target in TARGETS:
        target.write_text(render(), encoding="utf-8")
