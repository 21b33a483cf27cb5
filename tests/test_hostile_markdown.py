"""The markdown plan (a pull-request comment) shows a vendor's text as text (issue #25, "Markdown and HTML from
vendor text"): campaign and list names, members' emails and ids, lead keys and the free text that names them
cannot make a link, an image, a mention, emphasis, HTML or a broken table, whatever they hold. A real GFM renderer
(cmarkgfm) turns plans built from hostile names into HTML, which must hold no element a plan of plain names does
not, and no text outside code that could mention someone."""

from __future__ import annotations

import re
from collections import Counter

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.plan import Names, Plan, PlanContext, make_plan
from leadsync.providers import INSTANTLY
from leadsync.render import render_markdown
from leadsync.state import Claim, DesiredLead, DesiredState, Policy, RemoteLead, ResolvedWorkspace

ATTACKS = [
    "[Approve](https://evil.test/ok)",
    "![](https://evil.test/pixel.gif)",
    "@acme/admins please merge",
    "<!-- the rest is hidden",
    "<img src=x onerror=alert(1)>",
    "a | b \r| c",
    "```\ncode fence",
    "`tick` ``two``",
    "**bold** _it_ ~~gone~~",
    "https://evil.test/autolink www.evil.test",
    "&lt;entity&gt; &#64;acme",
    "<details><summary>x",
    "\\",
    "[ref]: https://evil.test",
    "- [ ] task",
    "# heading",
]
NAME = st.one_of(st.sampled_from(ATTACKS), st.text(min_size=1, max_size=40))


def plan_named(place: str, member: str, user: str) -> Plan:
    """People moved out of an outside campaign named `place`, owned by members whose email is `member` or who
    are known only by the id `user`; a conflict and a held record in outside places too."""
    return make_plan(
        DesiredState(
            [
                DesiredLead("a@x.test", "enterprise", "alice", "r"),
                DesiredLead("b@x.test", "nurture", "bob", "r"),
                DesiredLead("h@x.test", "enterprise", "bob", "r"),
                DesiredLead("two@x.test", "enterprise", "bob", "r"),
            ]
        ),
        ResolvedWorkspace(
            [
                RemoteLead("1", "a@x.test", "campaign:c-9", "u-zed"),
                RemoteLead("2", "b@x.test", "nurture", user),
                RemoteLead("3", "h@x.test", "list:l-9", None, frozenset({"replied"})),
                RemoteLead("4", "two@x.test", "campaign:c-9"),
                RemoteLead("5", "two@x.test", "list:l-9"),
            ],
            {"enterprise", "nurture"},
        ),
        Policy(claim=Claim.MOVE),
        PlanContext(INSTANTLY, names=Names({"campaign:c-9": place, "list:l-9": place + " (2)"}, {"u-zed": member})),
    )


def html_of(markdown: str) -> str:
    return str(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


def elements(html: str) -> Counter[str]:
    return Counter(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))


BASELINE = elements(html_of(render_markdown(plan_named("Old Outbound", "zed@acme.test", "u-ops"))))


def outside_code(html: str) -> str:
    return re.sub(r"<code>.*?</code>", "", html, flags=re.S)


@settings(max_examples=300, deadline=None)
@given(place=NAME, member=NAME, user=NAME)
def test_hostile_names_render_no_element_of_their_own(place: str, member: str, user: str) -> None:
    html = html_of(render_markdown(plan_named(place, member, user)))
    found = elements(html)
    assert set(found) <= set(BASELINE), set(found) - set(BASELINE)
    for tag in ("a", "img", "em", "del", "h1", "h2", "input", "details", "summary", "table", "tr", "td"):
        assert found[tag] <= BASELINE[tag], (tag, found[tag], BASELINE[tag])
    text = outside_code(html)
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", text), text  # nothing that could mention someone


def test_each_attack_is_shown_as_text() -> None:
    for attack in ATTACKS:
        markdown = render_markdown(plan_named(attack, attack + "@acme.test", attack))
        html = html_of(markdown)
        assert "evil.test/" not in re.sub(r"<code>.*?</code>", "", html, flags=re.S) or "href" not in html
        assert "<a " not in html and "<img" not in html and "<!--" not in outside_code(html)


def test_the_free_text_of_a_conflict_is_escaped_and_renders_as_written() -> None:
    from leadsync.render._common import markdown_text

    text = "moved from [x](https://e.test) by @acme/team <b>now</b> *fast*"
    html = html_of(markdown_text(text))
    assert "<a" not in html and "<b>" not in html and "<em>" not in html
    assert re.sub(r"<[^>]+>", "", html).strip().replace("\u2060", "") == text.replace("<", "&lt;").replace(">", "&gt;")
