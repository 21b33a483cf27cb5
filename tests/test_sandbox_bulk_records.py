"""The records a move job or a bulk-assign leaves are exactly what rewriting each record in Python would leave.

The sandbox rewrites the records of a move and a bulk-assign in SQL (json_set / json_remove) for speed; these tests
pin the result to the plain reading of the vendor's behaviour: every field, and the order of the record's keys.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.support import (
    ALICE,
    BOB,
    CAROL,
    COLD,
    ENTERPRISE,
    NURTURE,
    SMB,
    Api,
    instantly_seed,
    lead_id,
)

from leadsync.sandbox import ManualClock, RunningSandbox
from leadsync.sandbox._ids import iso

Sandboxes = Callable[..., RunningSandbox]


def _records(api: Api, sandbox: Any) -> dict[str, list[tuple[str, Any]]]:
    return {lead["id"]: list(lead.items()) for lead in sandbox.state()["leads"]}


def _moved(doc: dict[str, Any], key: str, target: str, stamp: str, owner: str | None, reset: bool) -> dict[str, Any]:
    new = dict(doc)
    new.pop("campaign", None)
    new.pop("list_id", None)
    new[key] = target
    if owner:
        new["assigned_to"] = owner
    if reset:
        new.pop("lt_interest_status", None)
    new["timestamp_updated"] = stamp
    return new


def test_a_move_rewrites_each_record_as_python_would(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    seed = instantly_seed()
    sandbox = sandboxes(seed, clock=clock)
    api = Api(sandbox)
    before = {lead["id"]: lead for lead in copy.deepcopy(sandbox.state()["leads"])}
    moves = [
        (
            {
                "campaign": ENTERPRISE,
                "ids": [lead_id(1), lead_id(2)],
                "to_list_id": COLD,
                "assigned_to": CAROL,
                "reset_interest_status": True,
            },
            "list_id",
            COLD,
            CAROL,
            True,
        ),
        ({"list_id": NURTURE, "ids": [lead_id(10), lead_id(11)], "to_campaign_id": SMB}, "campaign", SMB, None, False),
    ]
    expected = {lead_id: list(doc.items()) for lead_id, doc in before.items()}
    for body, key, target, owner, reset in moves:
        job = api.post("/api/v2/leads/move", json=body).json()
        clock.advance(10)
        done = api.get(f"/api/v2/background-jobs/{job['id']}").json()
        assert done["status"] == "success" and done["data"]["moved_leads"] == 2
        stamp = iso(clock.now())
        for lead_id_ in body["ids"]:
            expected[lead_id_] = list(_moved(before[lead_id_], key, target, stamp, owner, reset).items())
    assert _records(api, sandbox) == expected


def test_a_copy_keeps_the_original_and_adds_a_rewritten_record(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    sandbox = sandboxes(clock=clock)
    api = Api(sandbox)
    job = api.post(
        "/api/v2/leads/move", json={"campaign": SMB, "ids": [lead_id(6)], "to_list_id": COLD, "copy_leads": True}
    ).json()
    clock.advance(10)
    assert api.get(f"/api/v2/background-jobs/{job['id']}").json()["data"]["moved_leads"] == 1
    people = [lead for lead in sandbox.state()["leads"] if lead.get("email") == "person6@company6.test"]
    assert [(p.get("campaign"), p.get("list_id")) for p in people] == [(SMB, None), (None, COLD)]
    assert people[1]["id"] != lead_id(6) and list(people[1])[-2:] == ["list_id", "timestamp_updated"]


def test_a_bulk_assign_rewrites_each_record_as_python_would(sandboxes: Sandboxes) -> None:
    clock = ManualClock()
    sandbox = sandboxes(clock=clock)
    api = Api(sandbox)
    before = {lead["id"]: lead for lead in copy.deepcopy(sandbox.state()["leads"])}
    api.post("/api/v2/leads/bulk-assign", json={"organization_user_ids": [ALICE, BOB], "campaign": ENTERPRISE})
    clock.advance(1)
    stamp = iso(clock.now())
    expected = {lead_id: list(doc.items()) for lead_id, doc in before.items()}
    for index, lead_id_ in enumerate(lead_id(n) for n in range(1, 6)):
        doc = dict(before[lead_id_])
        doc["assigned_to"] = [ALICE, BOB][index % 2]
        doc["timestamp_updated"] = stamp
        expected[lead_id_] = list(doc.items())
    assert _records(api, sandbox) == expected
    assert [lead["assigned_to"] for lead in api.all_leads(campaign=ENTERPRISE)] == [ALICE, BOB, ALICE, BOB, ALICE]
