"""A hostile or broken vendor never costs the key, a traceback or unbounded time (issue #12).

A loopback server (tests/hostile/vendor.py) stands in front of a sandbox, forwards what it is not told to break,
and answers the rest as a broken or malicious vendor would: the key echoed back in every encoding, answers of the
wrong shape, pages without end, bodies without end or dripped a byte at a time, absurd Retry-After values.
leadsync runs as a user runs it (a child process); every output and every file it leaves is searched for the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile.support import (
    CANARY,
    Run,
    canary_seed,
    files_text,
    instantly_folder,
    leaks,
    run,
    sonarly_canary_seed,
    sonarly_folder,
)
from hostile.vendor import (
    Answer,
    HostileVendor,
    Request,
    bend,
    body,
    deep_json,
    drip,
    drip_headers,
    echo_all,
    endless_body,
    endless_pages,
    gzip_bomb,
)

from leadsync import sandbox

LIST = "/api/v2/leads/list"


@pytest.fixture
def upstream() -> Iterator[sandbox.RunningSandbox]:
    with sandbox.start(canary_seed()) as running:
        yield running


@pytest.fixture
def vendor(upstream: sandbox.RunningSandbox) -> Iterator[HostileVendor]:
    with HostileVendor(upstream.url) as hostile:
        yield hostile


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return instantly_folder(tmp_path)


def assert_clean_failure(result: Run, *expected: str) -> None:
    """Exit 1, an `Error:` line saying each of `expected`, no traceback, and not a trace of the key."""
    assert result.code == 1, result.output
    assert "Traceback" not in result.output, result.output
    assert result.error_lines, result.output
    for text in expected:
        assert any(text in line for line in result.error_lines), (text, result.output)
    assert leaks(result.output) == [], result.output


# -- the key, echoed back -----------------------------------------------------------------------------------

READS = {
    "plan": ["plan", "quickstart.yaml"],
    "plan --mask": ["plan", "quickstart.yaml", "--mask"],
    "plan markdown": ["plan", "quickstart.yaml", "--format", "markdown"],
    "plan json": ["plan", "quickstart.yaml", "--format", "json"],
    "snapshot": ["snapshot", "quickstart.yaml", "--out", "snap.json"],
    "import": ["import", "quickstart.yaml", "--out", "new.yaml"],
    "apply": ["apply", "quickstart.yaml", "--auto-approve"],
}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_key_echoed_in_every_encoding_by_a_read_reaches_no_output_and_no_file(
    vendor: HostileVendor, spec: Path, status: int
) -> None:
    vendor.on("POST", LIST, echo_all(status))
    for name, args in READS.items():
        result = run(spec.parent, vendor.url, *args)
        assert_clean_failure(result, f"({status})" if status in (401, 403, 404) else f"HTTP {status}")
        assert "[redacted]" in result.output, (name, result.output)
    assert {name: leaks(text) for name, text in files_text(spec.parent).items() if leaks(text)} == {}


@pytest.mark.parametrize("endpoint", ["/api/v2/leads/move", "/api/v2/leads/add"])
@pytest.mark.parametrize("status", [400, 403, 422])
def test_a_key_echoed_by_a_write_reaches_no_output_journal_or_lock(
    vendor: HostileVendor, spec: Path, endpoint: str, status: int
) -> None:
    vendor.on("POST", endpoint, echo_all(status))
    result = run(spec.parent, vendor.url, "apply", "quickstart.yaml", "--auto-approve")
    assert_clean_failure(result, "[redacted]")
    left = files_text(spec.parent)
    assert any(name.endswith(".journal.jsonl") for name in left), left.keys()
    assert {name: leaks(text) for name, text in left.items() if leaks(text)} == {}


def test_a_key_echoed_in_an_html_error_page_is_blanked(vendor: HostileVendor, spec: Path) -> None:
    vendor.on("GET", "/api/v2/campaigns", echo_all(403, html=True))
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "lacks a scope (403)")


def test_a_key_in_the_records_themselves_never_reaches_a_snapshot_or_a_plan(vendor: HostileVendor, spec: Path) -> None:
    """A vendor that puts the key in leads' fields, raw and JSON-escaped (where a search of the raw answer cannot
    see it): the snapshot, the import and the plan document hold it blanked."""
    escaped = "".join(f"\\u{ord(c):04x}" for c in CANARY)

    def poison(request: Request, hostile: HostileVendor) -> Answer:
        answer = hostile.forward(request).json()
        for item in answer.get("items", []):
            item.update(website="RAW-HERE", personalization="ESCAPED-HERE")
        text = json.dumps(answer).replace("RAW-HERE", CANARY).replace("ESCAPED-HERE", escaped)
        return Answer(200, text.encode())

    vendor.on("POST", LIST, poison)
    for args in (
        ["snapshot", "quickstart.yaml", "--out", "snap.json"],
        ["import", "quickstart.yaml", "--out", "new.yaml"],
        ["plan", "quickstart.yaml", "--out", "plan.json", "--format", "json"],
    ):
        result = run(spec.parent, vendor.url, *args)
        assert result.code in (0, 2), result.output
        assert leaks(result.output) == [], result.output
    left = files_text(spec.parent)
    assert "[redacted]" in left["snap.json"]
    assert {name: leaks(text) for name, text in left.items() if leaks(text)} == {}


def test_a_key_in_a_failed_jobs_error_is_blanked(vendor: HostileVendor, spec: Path) -> None:
    def failed(answer: Any, _: Request) -> Any:
        return {**answer, "status": "failed", "error": f"could not move: token {CANARY} expired"}

    vendor.on("GET", "/api/v2/background-jobs/.*", bend(failed))
    result = run(spec.parent, vendor.url, "apply", "quickstart.yaml", "--auto-approve")
    # the jobs did run (the sandbox moved the leads): each failed job is an open outcome the re-read settles
    assert result.code == 0 and "open outcomes settled by re-reading" in result.output, result.output
    assert leaks(result.output) == [] and {n: leaks(t) for n, t in files_text(spec.parent).items() if leaks(t)} == {}


# -- answers of the wrong shape -----------------------------------------------------------------------------

WRONG_SHAPES: dict[str, tuple[str, str, Any]] = {
    "a list": ("POST", LIST, body(200, b"[]")),
    "null": ("POST", LIST, body(200, b"null")),
    "a string": ("POST", LIST, body(200, b'"ok"')),
    "a number": ("GET", "/api/v2/campaigns", body(200, b"42")),
    "empty": ("POST", LIST, body(200, b"")),
    "not JSON": ("GET", "/api/v2/lead-lists", body(200, b"<html>maintenance</html>", "text/html")),
    "items not a list": ("POST", LIST, body(200, b'{"items": {"id": "x"}}')),
    "items not objects": ("POST", LIST, body(200, b'{"items": [1, "two", null]}')),
    "a lead without id": ("POST", LIST, body(200, b'{"items": [{"email": "a@b.test"}], "next_starting_after": null}')),
    "a lead whose id is a number": ("POST", LIST, body(200, b'{"items": [{"id": 7, "email": "a@b.test"}]}')),
    "a cursor that is an object": (
        "POST",
        LIST,
        body(200, b'{"items": [{"id": "x1", "email": "a@b.test"}], "next_starting_after": {"a": 1}}'),
    ),
    "a member without user_id": ("GET", "/api/v2/workspace-members", body(200, b'{"items": [{"email": "a@b.test"}]}')),
    "campaigns not objects": ("GET", "/api/v2/campaigns", body(200, b'{"items": ["Enterprise Q4"]}')),
    "deep JSON": ("POST", LIST, deep_json()),
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_an_answer_of_the_wrong_shape_is_one_line_naming_the_endpoint(
    vendor: HostileVendor, spec: Path, shape: str
) -> None:
    method, path, action = WRONG_SHAPES[shape]
    vendor.on(method, path, action)
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, f"{method} {path}")
    assert len(result.error_lines) == 1 and result.seconds < 30, result.output


@pytest.mark.parametrize(
    "shape,answer",
    [
        ("a job answered as a list", b"[]"),
        ("a job whose status is an object", b'{"id": "x", "status": {"a": 1}}'),
        ("a job answered null", b"null"),
    ],
)
def test_a_background_job_of_the_wrong_shape_is_an_error_not_a_traceback(
    vendor: HostileVendor, spec: Path, shape: str, answer: bytes
) -> None:
    vendor.on("GET", "/api/v2/background-jobs/.*", body(200, answer))
    result = run(spec.parent, vendor.url, "apply", "quickstart.yaml", "--auto-approve", "--job-timeout", "5")
    assert result.code == 1 and "Traceback" not in result.output, result.output
    assert any("background-jobs" in line for line in result.error_lines), result.output


def test_a_move_answered_without_a_job_is_an_error_not_a_traceback(vendor: HostileVendor, spec: Path) -> None:
    vendor.on("POST", "/api/v2/leads/move", bend(lambda answer, _: ["accepted"]))
    result = run(spec.parent, vendor.url, "apply", "quickstart.yaml", "--auto-approve", "--job-timeout", "5")
    assert result.code == 1 and "Traceback" not in result.output, result.output
    assert result.error_lines, result.output


# -- reads without end --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how,expected",
    [({}, "already read"), ({"grow": True}, "for a limit of 100"), ({"same_cursor": True}, "gave before")],
)
def test_paging_without_end_is_stopped_fast(
    vendor: HostileVendor, spec: Path, how: dict[str, bool], expected: str
) -> None:
    vendor.on("POST", LIST, endless_pages(**how))
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "POST /api/v2/leads/list", expected)
    assert result.seconds < 30, result.seconds
    assert sum(1 for r in vendor.seen if r.path.startswith(LIST)) < 200


def test_a_body_without_end_is_cut_at_the_limit(vendor: HostileVendor, spec: Path) -> None:
    vendor.on("POST", LIST, endless_body())
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "POST /api/v2/leads/list", "over leadsync's limit")
    assert result.seconds < 60, result.seconds


@pytest.mark.parametrize("part", ["body", "headers"])
def test_an_answer_dripped_a_byte_at_a_time_ends_at_the_deadline(upstream: sandbox.RunningSandbox, part: str) -> None:
    """In-process, with a 2 s deadline (the CLI's is a minute): each byte comes within the read timeout, the
    whole never does, whether the body drips or the status line and headers do."""
    import time

    from leadsync.errors import UnavailableError
    from leadsync.providers.instantly import InstantlyProvider

    with HostileVendor(upstream.url) as hostile:
        hostile.on("GET", "/api/v2/campaigns", drip(every=0.5) if part == "body" else drip_headers(every=0.3))
        provider = InstantlyProvider.connect(hostile.url, CANARY, "$K")
        provider.client.deadline = 2.0
        started = time.monotonic()
        with pytest.raises(UnavailableError, match=r"GET /api/v2/campaigns: no whole answer within 2 s"):
            provider.read(destinations={}, owners={})
        assert time.monotonic() - started < 5
        provider.close()


def test_a_retry_after_beyond_the_longest_wait_ends_the_call_at_once(vendor: HostileVendor, spec: Path) -> None:
    vendor.on("POST", LIST, body(429, b'{"statusCode": 429, "message": "slow down"}', **{"retry-after": "86400"}))
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "asks to wait 86,400 s")
    assert result.seconds < 15, result.seconds


@pytest.mark.parametrize("value", ["-5", "nan", "soon", "1e999", "-1e999", "Thu, 99 Foo 2026"])
def test_a_garbage_retry_after_gets_the_normal_backoff_never_zero(upstream: sandbox.RunningSandbox, value: str) -> None:
    from leadsync.errors import UnavailableError
    from leadsync.providers._http import RetryPolicy
    from leadsync.providers.instantly import InstantlyProvider

    with HostileVendor(upstream.url) as hostile:
        hostile.on("GET", "/api/v2/campaigns", body(503, b"{}", **{"retry-after": value}))
        provider = InstantlyProvider.connect(hostile.url, CANARY, "$K")
        pauses: list[float] = []
        provider.client.sleep = pauses.append
        provider.client.retry = RetryPolicy(attempts=4)
        with pytest.raises(UnavailableError, match="still failing after 4 attempts"):
            provider.read(destinations={}, owners={})
        assert len(pauses) == 3 and all(pause >= 0.25 for pause in pauses), pauses  # the backoff's first step: 0.25+
        provider.close()


# -- Sonarly ------------------------------------------------------------------------------------------------

AUDIENCES = "/v1/accounts/[0-9a-f]+/audiences"
PROSPECTS = AUDIENCES + "/[0-9a-f]+/prospects"


@pytest.fixture
def sonarly_vendor() -> Iterator[HostileVendor]:
    with sandbox.start(sonarly_canary_seed()) as running, HostileVendor(running.url) as hostile:
        yield hostile


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_sonarly_a_key_echoed_in_every_encoding_reaches_no_output_and_no_file(
    sonarly_vendor: HostileVendor, tmp_path: Path, status: int
) -> None:
    spec = sonarly_folder(tmp_path)
    sonarly_vendor.on("GET", PROSPECTS, echo_all(status, vendor="sonarly"))
    for args in (
        ["plan", spec.name],
        ["plan", spec.name, "--format", "markdown"],
        ["apply", spec.name, "--auto-approve"],
        ["snapshot", spec.name, "--out", "snap.json"],
    ):
        result = run(tmp_path, sonarly_vendor.url, *args)
        assert_clean_failure(result, f"({status})")
        assert "[redacted]" in result.output, result.output
    assert {name: leaks(text) for name, text in files_text(tmp_path).items() if leaks(text)} == {}


def test_sonarly_a_key_echoed_by_a_move_reaches_no_output(sonarly_vendor: HostileVendor, tmp_path: Path) -> None:
    spec = sonarly_folder(tmp_path)
    sonarly_vendor.on("POST", AUDIENCES + "/[0-9a-f]+/move-leads", echo_all(403, vendor="sonarly"))
    result = run(tmp_path, sonarly_vendor.url, "apply", spec.name, "--auto-approve")
    assert_clean_failure(result, "[redacted]")
    assert {name: leaks(text) for name, text in files_text(tmp_path).items() if leaks(text)} == {}


SONARLY_SHAPES: dict[str, tuple[str, Any]] = {
    "not an envelope": (AUDIENCES, body(200, b'{"items": []}')),
    "data a list": (AUDIENCES, body(200, b'{"success": true, "data": [], "traceId": "t"}')),
    "items not objects": (AUDIENCES, body(200, b'{"success": true, "data": {"items": [1, 2], "nextCursor": null}}')),
    "a prospect without id": (
        PROSPECTS,
        body(
            200,
            b'{"success": true, "data": {"items": [{"publicIdentifier": "x"}], "nextCursor": null, "hasMore": false}}',
        ),
    ),
    "hasMore not a bool": (
        PROSPECTS,
        body(200, b'{"success": true, "data": {"items": [], "nextCursor": null, "hasMore": "no"}}'),
    ),
    "a list": ("/v1/accounts", body(200, b"[]")),
}


@pytest.mark.parametrize("shape", sorted(SONARLY_SHAPES))
def test_sonarly_an_answer_of_the_wrong_shape_is_one_line_naming_the_endpoint(
    sonarly_vendor: HostileVendor, tmp_path: Path, shape: str
) -> None:
    spec = sonarly_folder(tmp_path)
    path, action = SONARLY_SHAPES[shape]
    sonarly_vendor.on("GET", path, action)
    result = run(tmp_path, sonarly_vendor.url, "plan", spec.name)
    assert_clean_failure(result, "sonarly: GET /v1/accounts")
    assert len(result.error_lines) == 1, result.output


def test_sonarly_paging_that_loops_is_stopped_fast(sonarly_vendor: HostileVendor, tmp_path: Path) -> None:
    spec = sonarly_folder(tmp_path)

    def loop(request: Request, hostile: HostileVendor) -> Answer:
        page = {
            "items": [{"id": "65c000000000000000000001", "publicIdentifier": "loop"}],
            "nextCursor": "again",
            "hasMore": True,
        }
        return Answer(200, json.dumps({"success": True, "data": page, "error": None, "traceId": "t"}).encode())

    sonarly_vendor.on("GET", PROSPECTS, loop)
    result = run(tmp_path, sonarly_vendor.url, "plan", spec.name)
    assert_clean_failure(result, "the paging loops")
    assert result.seconds < 30


def test_a_look_up_by_email_that_pages_on_past_what_it_can_hold_is_stopped(vendor: HostileVendor, spec: Path) -> None:
    """A look-up of 100 people can hold at most one record each per campaign or list: a vendor that keeps
    sending fresh pages of 100 is stopped after that many pages, not after the 20,000 any listing may take."""
    pages = [0]

    def fresh(request: Request, hostile: HostileVendor) -> Answer | None:
        if "contacts" not in (request.json() or {}):
            return None  # the managed destinations' pages come from the sandbox
        pages[0] += 1
        leads = [{"id": f"1ead{pages[0]:08x}-0000-4000-8000-{i:012d}", "email": f"x{i}@fresh.test"} for i in range(100)]
        return Answer(200, json.dumps({"items": leads, "next_starting_after": f"{pages[0]:024x}"}).encode())

    vendor.on("POST", LIST, fresh)
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "POST /api/v2/leads/list", "still more pages after")
    assert pages[0] <= 10, pages


@pytest.mark.parametrize(
    "bad,position",
    [("sk_live_caf\u00e9_4f9e2b7c1d8a", 12), ("sk_live_4f9e\n2b7c1d8a6e3f", 13), ("sk_live 4f9e2b7c1d8a", 8)],
)
def test_a_key_no_http_header_can_carry_is_one_line_naming_its_variable(
    vendor: HostileVendor, spec: Path, bad: str, position: int
) -> None:
    for args in (["plan", "quickstart.yaml"], ["apply", "quickstart.yaml", "--auto-approve"]):
        result = run(spec.parent, vendor.url, *args, key=bad)
        assert result.code == 1 and "Traceback" not in result.output, result.output
        assert result.error_lines == [result.error_lines[0]] and "$LEADSYNC_CANARY_KEY" in result.error_lines[0]
        assert f"at position {position}" in result.error_lines[0], result.output
        assert bad.strip() not in result.output and "4f9e" not in result.output
    assert vendor.seen == []  # refused before any request


def test_fresh_pages_without_end_are_stopped_by_the_reads_shared_page_budget(
    upstream: sandbox.RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every destination's listing sends fresh leads, 100 a page, for ever: no loop to see, no page too large.
    The read's pages are one budget for all its listings (run eight at a time), so memory stays bounded."""
    import leadsync.providers._paging as paging
    from leadsync.errors import ProviderError
    from leadsync.providers.instantly import InstantlyProvider
    from leadsync.snapshot import DestinationRef

    pages = [0]

    def fresh(request: Request, _: HostileVendor) -> Answer:
        pages[0] += 1
        n = pages[0]
        leads = [{"id": f"1ead{n:08x}-0000-4000-8000-{i:012d}", "email": f"x{n}.{i}@fresh.test"} for i in range(100)]
        return Answer(200, json.dumps({"items": leads, "next_starting_after": f"{n:024x}"}).encode())

    with HostileVendor(upstream.url) as hostile:
        hostile.on("POST", LIST, fresh)
        provider = InstantlyProvider.connect(hostile.url, CANARY, "$K")
        monkeypatch.setattr(paging, "MAX_READ_PAGES", 40)  # the default 12,000 takes minutes; the rule is the same
        destinations = {n: DestinationRef("campaign", n) for n in ("Enterprise Q4", "SMB Outbound")}
        with pytest.raises(ProviderError, match="the read has taken 40 pages, the most leadsync reads"):
            provider.read(destinations=destinations, owners={})
        provider.close()
        assert pages[0] <= 40


@pytest.mark.parametrize("layers", [1, 2])
def test_a_compression_bomb_is_cut_at_the_limit_as_it_inflates(vendor: HostileVendor, spec: Path, layers: int) -> None:
    """A few KB of gzip that inflate to 2 GB: httpx's decoders inflated each chunk whole (8.4 GB held before the
    size check ran); leadsync inflates 64 KB at a time and stops at the limit. Two layers are not what it asked for."""
    vendor.on("POST", LIST, gzip_bomb(layers=layers))
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml", "--mask")
    expected = "over leadsync's limit" if layers == 1 else "leadsync asks for gzip, deflate"
    assert_clean_failure(result, "POST /api/v2/leads/list", expected)
    assert result.seconds < 30


@pytest.mark.parametrize("encoding,content", [("gzip", b"not gzip at all"), ("br", b"\x00\x01"), ("zstd", b"x")])
def test_an_answer_that_is_not_the_encoding_it_says_is_one_line(
    vendor: HostileVendor, spec: Path, encoding: str, content: bytes
) -> None:
    vendor.on("GET", "/api/v2/campaigns", body(200, content, **{"content-encoding": encoding}))
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "GET /api/v2/campaigns: the answer cannot be decoded")


def test_a_gzipped_answer_reads_as_it_should(vendor: HostileVendor, spec: Path) -> None:
    import gzip

    def packed(request: Request, hostile: HostileVendor) -> Answer:
        answer = hostile.forward(request)
        return Answer(
            answer.status_code,
            gzip.compress(answer.content),
            {"content-type": "application/json", "content-encoding": "gzip"},
        )

    vendor.on("*", ".*", packed)
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert result.code == 0 and "Plan: 13 to add, 15 to move" in result.output, result.output


@pytest.mark.parametrize("how", ["base64 wrapped at 76", "percent in part", "split by a space", "cut short"])
def test_a_key_echoed_in_a_form_no_list_foresees_withholds_the_vendors_words(
    vendor: HostileVendor, spec: Path, how: str
) -> None:
    import base64
    from urllib.parse import quote

    def echo(request: Request, _: HostileVendor) -> Answer:
        key = request.key
        said = {
            "base64 wrapped at 76": base64.encodebytes(f"Host: x\r\nAuthorization: Bearer {key}\r\n".encode()).decode(),
            "percent in part": key[:5] + quote(key[5:], safe=""),
            "split by a space": key[:14] + " " + key[14:],
            "cut short": "x" * 170 + key[:-6],
        }[how]
        return Answer(401, json.dumps({"statusCode": 401, "error": "Unauthorized", "message": said}).encode())

    vendor.on("POST", LIST, echo)
    result = run(spec.parent, vendor.url, "plan", "quickstart.yaml")
    assert_clean_failure(result, "was refused (401)")


def test_a_lone_surrogate_in_a_record_is_mended_not_a_traceback(vendor: HostileVendor, spec: Path) -> None:
    def odd(request: Request, hostile: HostileVendor) -> Answer:
        answer = hostile.forward(request).json()
        for item in answer.get("items", []):
            item["first_name"] = "LONE"
        return Answer(200, json.dumps(answer).replace('"LONE"', '"\\ud800x"').encode())

    vendor.on("POST", LIST, odd)
    for args in (
        ["snapshot", "quickstart.yaml", "--out", "snap.json"],
        ["import", "quickstart.yaml", "--out", "new.yaml"],
        ["plan", "quickstart.yaml", "--format", "json"],
    ):
        result = run(spec.parent, vendor.url, *args)
        assert result.code in (0, 2) and "Traceback" not in result.output, result.output
    assert "\ufffdx" in (spec.parent / "snap.json").read_text(encoding="utf-8")


def test_a_vendor_throttling_for_ever_ends_the_call_within_its_time(upstream: sandbox.RunningSandbox) -> None:
    """Retry-After 119 (under the longest wait) five times over was ten minutes for one read: a call's attempts
    and waits together are given 150 s."""
    from leadsync.errors import UnavailableError
    from leadsync.providers.instantly import InstantlyProvider

    with HostileVendor(upstream.url) as hostile:
        hostile.on("GET", "/api/v2/campaigns", body(429, b"{}", **{"retry-after": "119"}))
        provider = InstantlyProvider.connect(hostile.url, CANARY, "$K")
        now = [0.0]
        provider.client.clock = lambda: now[0]
        provider.client.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
        with pytest.raises(
            UnavailableError, match=r"still failing after 2 attempts in 119 s \(leadsync gives a call 150 s\)"
        ):
            provider.read(destinations={}, owners={})
        assert now[0] == 119
        provider.close()
