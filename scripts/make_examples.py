"""Regenerates the example data under specs/examples/ (deterministic: same bytes every run).

python scripts/make_examples.py
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "specs" / "examples"

FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Mira",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
]
LAST = [
    "Adler",
    "Brandt",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Keller",
    "Larsen",
    "Moreau",
    "Novak",
    "Olsen",
    "Petit",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "DE", "FR", "NL", "SE", "ES", "IT", "BR", "JP", "AU"]
INDUSTRIES = ["software", "fintech", "healthcare", "retail", "logistics", "manufacturing", "media"]
STRATEGIC = ["globex.test", "initech.test", "umbrella.test", "hooli.test"]


def person(rng: random.Random, i: int, domain: str) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {"first": first, "last": last, "email": f"{first}.{last}{i}@{domain}".lower()}


def quickstart() -> None:
    rng = random.Random(7)
    rows = []
    for i in range(36):
        domain = (
            STRATEGIC[i % 4]
            if i < 4
            else f"{rng.choice(['acme', 'nimbus', 'orbit', 'zephyr', 'quanta', 'lumen'])}{i}.test"
        )
        p = person(rng, i, domain)
        size = rng.choice([12, 40, 85, 150, 400, 1200, 2500, 9000])
        rows.append(
            {
                "Email": p["email"],
                "first_name": p["first"],
                "last_name": p["last"],
                "company_name": domain.split(".")[0].title(),
                "employees": size,
                "country": rng.choice(COUNTRIES),
            }
        )
    with (EXAMPLES / "quickstart.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    members = [
        {"user_id": "7d0c6d2e-0000-4000-8000-00000000a11c", "email": "alice@acme.test"},
        {"user_id": "7d0c6d2e-0000-4000-8000-000000000b0b", "email": "bob@acme.test"},
        {"user_id": "7d0c6d2e-0000-4000-8000-0000000ca201", "email": "carol@acme.test"},
    ]
    campaigns = [
        {"id": "c0000000-0000-4000-8000-000000000001", "name": "Enterprise Q4"},
        {"id": "c0000000-0000-4000-8000-000000000002", "name": "SMB Outbound"},
        {"id": "c0000000-0000-4000-8000-000000000003", "name": "Webinar Follow-up"},
    ]
    lists = [{"id": "11570000-0000-4000-8000-000000000001", "name": "Nurture"}]
    leads = []
    # a workspace that half matches the spec: some leads in place, some misplaced, some re-owned, some replied
    places = [("campaign", campaigns[0]["id"]), ("campaign", campaigns[1]["id"]), ("list_id", lists[0]["id"])]
    for i, row in enumerate(rows[:24]):
        where = places[i % 3]
        lead = {
            "id": f"1ead0000-0000-4000-8000-{i:012d}",
            "email": row["Email"],
            where[0]: where[1],
            "assigned_to": members[i % 3]["user_id"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "company_name": row["company_name"],
            "status": 1,
            "lt_interest_status": 0 if i % 11 else 1,
            "email_reply_count": 1 if i == 5 else 0,
        }
        leads.append(lead)
    leads.append(
        {
            "id": "1ead0000-0000-4000-8000-000000000900",
            "email": "old.contact@legacy.test",
            "campaign": campaigns[2]["id"],
            "assigned_to": members[0]["user_id"],
            "status": 3,
            "lt_interest_status": 0,
            "email_reply_count": 0,
        }
    )
    seed = {
        "api_keys": [{"key": "sandbox-quickstart-key", "scopes": ["all:*"]}],
        "members": members,
        "campaigns": campaigns,
        "lists": lists,
        "leads": leads,
    }
    (EXAMPLES / "quickstart.remote.json").write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")
    # team-routing.yaml routes the quickstart's leads like a lead router (capacity, fallback, away, accounts):
    # the same workspace with a fourth member, dana, who takes what the pools cannot, and its own key
    dana = {"user_id": "7d0c6d2e-0000-4000-8000-00000000da4a", "email": "dana@acme.test"}
    team = {**seed, "api_keys": [{"key": "sandbox-team-routing-key", "scopes": ["all:*"]}], "members": [*members, dana]}
    (EXAMPLES / "team-routing.remote.json").write_text(json.dumps(team, indent=2) + "\n", encoding="utf-8")


def realistic() -> None:
    rng = random.Random(42)
    rows = []
    for i in range(400):
        if i % 25 == 0:
            domain = STRATEGIC[(i // 25) % len(STRATEGIC)]
        else:
            domain = (
                f"{rng.choice(['acme', 'nimbus', 'orbit', 'zephyr', 'quanta', 'lumen', 'vertex', 'atlas'])}-{i}.test"
            )
        p = person(rng, i, domain)
        rows.append(
            {
                "email": p["email"],
                "first_name": p["first"],
                "last_name": p["last"],
                "company": domain.split(".")[0].title(),
                "employees": rng.choice([5, 18, 45, 120, 260, 700, 1500, 4000, 12000]),
                "hq_country": rng.choice(COUNTRIES),
                "industry": rng.choice(INDUSTRIES),
                "title": rng.choice(["CEO", "CTO", "VP Sales", "Head of RevOps", "Engineer", "Founder"]),
            }
        )
    with (EXAMPLES / "acme-routing.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    acme_workspace()


#: the workspace members of the acme example: the spec's seven owners, and people who own no route
ACME_MEMBERS = [
    ("dana.whitfield@acme.test", "Dana", "Whitfield", "admin"),
    ("eli.moreno@acme.test", "Eli", "Moreno", "editor"),
    ("fay.osei@acme.test", "Fay", "Osei", "editor"),
    ("gus.lindqvist@acme.test", "Gus", "Lindqvist", "editor"),
    ("Hana.Sato@acme.test", "Hana", "Sato", "editor"),  # as she typed it: owners match case-insensitively
    ("ivo.petrov@acme.test", "Ivo", "Petrov", "editor"),
    ("jo.mbeki@acme.test", "Jo", "Mbeki", "editor"),
    ("maya.chen@acme.test", "Maya", "Chen", "owner"),  # head of sales: owns a few leads by hand
    ("tom.keller@acme.test", "Tom", "Keller", "editor"),  # an SDR with leads in the webinar campaign
    ("revops@acme.test", "RevOps", "Bot", "admin"),  # the integration user: owns the imports
    ("lena.vogt@acme.test", "Lena", "Vogt", "view"),  # invited, never accepted, owns nothing
]
#: a former AE: removed from the workspace, still `assigned_to` on some of their leads
FORMER_MEMBER = "7d0c6d2e-0000-4000-8000-0000000f0a11"


def acme_workspace() -> None:
    """A sandbox seed for acme-routing.yaml: the Instantly workspace a team adopting leadsync really has.

    Most of the spec's people are already in a campaign, most of those where the routes would put them (the
    team routed by hand with about these rules); some are misplaced, re-owned by hand, owned by someone who is
    not an owner of the spec or no longer a member, or have no owner; some are also in a campaign or list the
    spec does not manage (webinar, event badge scans, an old CRM import), a few in two managed campaigns; some
    have replied, booked a meeting, unsubscribed or bounced. Leads nobody routes sit in the managed places too,
    and the rest of the spec's people are not in the workspace yet.
    """
    sys.path.insert(0, str(ROOT))
    from leadsync.routing import Router
    from leadsync.spec import load_leads, load_spec

    loaded = load_spec(EXAMPLES / "acme-routing.yaml")
    leads = load_leads(loaded).leads
    routed = {d.key: d for d in Router(loaded).route(leads).desired}
    owner_email = {name: owner.email.lower() for name, owner in loaded.spec.owners.items()}
    rng = random.Random(2026)

    def uid(n: int) -> str:
        return f"7d0c6d2e-0000-4000-8000-{n:012x}"

    members = []
    for n, (email, first, last, role) in enumerate(ACME_MEMBERS, start=1):
        member = {
            "user_id": uid(0xAC0000 + n),
            "email": email,
            "role": role,
            "accepted": email != "lena.vogt@acme.test",
            "name": {"first": first, "last": last},
        }
        members.append(member)
    user = {m["email"].lower(): m["user_id"] for m in members}
    owner_ids = [user[e] for e in owner_email.values()]
    others = [user["maya.chen@acme.test"], user["tom.keller@acme.test"], user["revops@acme.test"]]

    def campaign(n: int, name: str, status: int, owner: str) -> dict[str, object]:
        return {"id": f"c0acde00-0000-4000-8000-{n:012d}", "name": name, "status": status, "owned_by": user[owner]}

    managed_campaigns = {
        "strategic": campaign(1, "Strategic Accounts 2026", 1, "dana.whitfield@acme.test"),
        "enterprise-na": campaign(2, "Enterprise NA", 1, "eli.moreno@acme.test"),
        "enterprise-emea": campaign(3, "Enterprise EMEA", 1, "gus.lindqvist@acme.test"),
        "mid-market": campaign(4, "Mid-Market Outbound", 1, "fay.osei@acme.test"),
        "apac": campaign(5, "APAC Expansion", 2, "jo.mbeki@acme.test"),  # paused: still managed
    }
    webinar = campaign(6, "Webinar Follow-up — March", 3, "tom.keller@acme.test")
    referrals = campaign(7, "Partner Referrals", 1, "maya.chen@acme.test")
    old_na = campaign(8, "Enterprise NA — 2025 (archived)", 3, "eli.moreno@acme.test")  # a name close to a managed one
    campaigns = [*managed_campaigns.values(), webinar, referrals, old_na]

    def lead_list(n: int, name: str, owner: str) -> dict[str, object]:
        return {"id": f"11570000-0000-4000-8000-{n:012d}", "name": name, "owned_by": user[owner]}

    nurture = lead_list(1, "Nurture — low fit", "revops@acme.test")
    badges = lead_list(2, "SaaStr 2026 badge scans", "maya.chen@acme.test")
    hubspot = lead_list(3, "HubSpot import 2025-11", "revops@acme.test")
    dnc = lead_list(4, "Do not contact", "revops@acme.test")
    lists = [nurture, badges, hubspot, dnc]
    place = {name: ("campaign", c["id"]) for name, c in managed_campaigns.items()}
    place["nurture"] = ("list_id", nurture["id"])
    unmanaged_places = [
        ("campaign", webinar["id"]),
        ("campaign", referrals["id"]),
        ("campaign", old_na["id"]),
        ("list_id", badges["id"]),
        ("list_id", hubspot["id"]),
    ]

    records: list[dict[str, object]] = []

    def add(
        email: str | None,
        where: tuple[str, str],
        owner: str | None,
        row: dict[str, str] | None = None,
        **fields: object,
    ) -> None:
        n = len(records) + 1
        record: dict[str, object] = {"id": f"1ead0ac0-0000-4000-8000-{n:012d}", "email": email, where[0]: where[1]}
        if owner is not None:
            record["assigned_to"] = owner
        if row is not None:
            record |= {
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "company_name": row["company"],
                "job_title": row["title"],
                "payload": {"employees": row["employees"], "hq_country": row["hq_country"]},
            }
        record["status"] = 1
        record["upload_method"] = "manual" if where[1] in (badges["id"], webinar["id"]) else "api"
        # what happened since: mostly nothing yet; some replied, booked, bounced, unsubscribed, finished
        roll = rng.random()
        if roll < 0.05:
            record |= {
                "email_reply_count": rng.choice([1, 1, 2, 3]),
                "lt_interest_status": rng.choice([1, 1, 2, -1, 0]),
            }
        elif roll < 0.07:
            record |= {"email_reply_count": 2, "lt_interest_status": rng.choice([3, 4])}  # meeting done, won
        elif roll < 0.09:
            record["status"] = -1  # bounced
        elif roll < 0.11:
            record["status"] = -2  # unsubscribed
        elif roll < 0.16:
            record["status"] = 3  # completed the sequence, no reply
        elif roll < 0.18:
            record["status"] = 2  # paused by hand
        if record["status"] in (1, 3) and rng.random() < 0.6:
            record["email_open_count"] = rng.randint(1, 6)
        records.append(record | fields)

    by_email = {row["email"]: row for row in _acme_rows()}
    for key in sorted(by_email):
        row, desired = by_email[key], routed.get(key)
        if desired is None:
            continue
        roll = rng.random()
        if roll < 0.30:
            continue  # not in the workspace yet: the plan adds them
        email = key.title() if rng.random() < 0.02 else key  # a few were uploaded with capitals
        if roll < 0.38:  # only in a campaign or list leadsync does not manage: `claim: move` brings them in
            add(email, rng.choice(unmanaged_places), rng.choice([*owner_ids, *others, None]), row)
            continue
        where = desired.destination
        if rng.random() < 0.12:  # routed by hand to the wrong place
            where = rng.choice([d for d in place if d != desired.destination])
        owner = user[owner_email[desired.owner]] if desired.owner else None
        pick = rng.random()
        if pick < 0.08:
            owner = rng.choice(owner_ids)  # re-owned by hand
        elif pick < 0.11:
            owner = rng.choice(others)  # owned by a member who owns no route
        elif pick < 0.13:
            owner = FORMER_MEMBER  # owned by someone who has left
        elif pick < 0.16 or (desired.owner is None and pick < 0.6):
            owner = None  # nobody
        add(email, place[where], owner, row)
        extra = rng.random()
        if extra < 0.10:  # also in a place leadsync does not manage (several records, one email, as at the vendor)
            add(email, rng.choice(unmanaged_places), rng.choice([*owner_ids, *others]), row)
        elif extra < 0.12:  # also in a second managed place: a conflict, left alone
            add(email, place[rng.choice([d for d in place if d != where])], owner, row)

    # leads nobody routes: from before, in the managed places (reported, never touched) and elsewhere
    for n in range(60):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(
            [
                "Acme, Inc.",
                "Initrode",
                "Soylent",
                "Vandelay Industries",
                "Wayne Enterprises",
                "Müller & Söhne",
                "Nakatomi",
                "Stark",
            ]
        )
        domain = rng.choice(["legacy", "oldcrm", "soylent", "vandelay", "wayne", "nakatomi"]) + ".test"
        row = {
            "first_name": first,
            "last_name": last,
            "company": company,
            "title": rng.choice(["CFO", "Buyer", ""]),
            "employees": rng.choice(["", "30", "250"]),
            "hq_country": rng.choice(["US", "DE", "GB", ""]),
        }
        where = rng.choice(list(place.values())) if n < 36 else rng.choice([*unmanaged_places, ("list_id", dnc["id"])])
        add(f"{first}.{last}.{n}@{domain}".lower(), where, rng.choice([*owner_ids, *others, None, FORMER_MEMBER]), row)
    for first, last in [("José", "Núñez"), ("Zoë", "O'Brien")]:  # a scraped list: names, no email yet
        add(None, place["nurture"], None, first_name=first, last_name=last, company_name="Scraped Co")

    seed = {
        "api_keys": [
            {"key": "sandbox-acme-routing-key", "scopes": ["all:*"]},
            {
                "key": "sandbox-acme-routing-readonly",
                "scopes": [
                    "leads:read",
                    "campaigns:read",
                    "lead_lists:read",
                    "workspace_members:read",
                    "background-jobs:read",
                ],
            },
        ],
        "members": members,
        "campaigns": campaigns,
        "lists": lists,
        "leads": records,
    }
    (EXAMPLES / "acme-routing.remote.json").write_text(
        json.dumps(seed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _acme_rows() -> list[dict[str, str]]:
    with (EXAMPLES / "acme-routing.leads.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def sonarly() -> None:
    rng = random.Random(3)
    with (EXAMPLES / "sonarly-founders.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["profile", "first_name", "last_name", "title", "country"])
        for i in range(30):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            ident = f"{first}-{last}-{1000 + i}".lower()
            url = [f"https://www.linkedin.com/in/{ident}/", f"linkedin.com/in/{ident}", ident][i % 3]
            writer.writerow(
                [
                    url,
                    first,
                    last,
                    rng.choice(["Founder", "CEO", "CTO", "Head of Growth"]),
                    rng.choice(["DE", "FR", "GB", "US", "SE"]),
                ]
            )


def sonarly_sandbox() -> None:
    """The Sonarly example on the embedded sandbox: a seed for the account group and the people to route."""
    rng = random.Random(11)
    group, partners = "65a000000000000000000001", "65a000000000000000000002"
    audiences = [
        {"id": "65b000000000000000000001", "name": "Founders EU", "account_group_id": group, "type": "linkedin_search"},
        {"id": "65b000000000000000000002", "name": "Founders US", "account_group_id": group, "type": "linkedin_search"},
        {
            "id": "65b000000000000000000003",
            "name": "Tech Leaders",
            "account_group_id": group,
            "type": "sales_navigator",
        },
        {"id": "65b000000000000000000004", "name": "Archive", "account_group_id": group, "type": "linkedin_search"},
        {
            "id": "65b000000000000000000005",
            "name": "Q3 Import",
            "account_group_id": group,
            "type": "linkedin_search",
            "populating": True,
        },
        # the same name in another account group: not ours
        {
            "id": "65b000000000000000000006",
            "name": "Founders EU",
            "account_group_id": partners,
            "type": "linkedin_search",
        },
    ]
    eu, us, tech, archive, importing, partners_eu = (a["id"] for a in audiences)
    people = []
    for i in range(44):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        title = rng.choice(["Founder", "CEO", "CTO", "Head of Growth"])
        country = rng.choice(["DE", "FR", "GB", "US", "SE", "US"])
        ident = f"{first}-{last}-{2000 + i}".lower()
        founder, europe = title in ("Founder", "CEO"), country in ("DE", "FR", "GB", "SE")
        people.append(
            {
                "ident": ident,
                "first": first,
                "last": last,
                "title": title,
                "country": country,
                "wanted": eu if founder and europe else us if founder else tech,
            }
        )
    forms = ["https://www.linkedin.com/in/{}/", "linkedin.com/in/{}", "{}", "https://de.linkedin.com/in/{}?trk=public"]
    with (EXAMPLES / "sonarly-sandbox.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["profile", "first_name", "last_name", "title", "country"])
        for i, p in enumerate(people):
            ident = p["ident"].title() if i % 4 == 3 else p["ident"]  # identifiers compare case-insensitively
            writer.writerow([forms[i % 4].format(ident), p["first"], p["last"], p["title"], p["country"]])
    managed = [eu, us, tech]
    prospects = []

    def prospect(p: dict[str, str], audience: str) -> None:
        n = len(prospects) + 1
        record = {
            "id": f"65c{n:021x}",
            "audience_id": audience,
            "publicIdentifier": p["ident"],
            "linkedinUrl": f"https://www.linkedin.com/in/{p['ident']}/",
            "firstName": p["first"],
            "lastName": p["last"],
            "headline": f"{p['title']} at {p['last']} Labs",
            "company": {"name": f"{p['last']} Labs"},
        }
        if n % 7 == 0:  # some prospects carry only their profile URL, in another of its forms
            record["publicIdentifier"] = None
            record["linkedinUrl"] = f"https://uk.linkedin.com/in/{p['ident']}?originalSubdomain=uk"
        prospects.append(record)

    for i, p in enumerate(people):
        if i < 36:  # in the group's managed audiences; a few in the wrong one
            wrong = [a for a in managed if a != p["wanted"]]
            prospect(p, wrong[i % 2] if i % 9 == 4 else p["wanted"])
        elif i < 39:  # in the group's Archive: `claim: move` brings them in
            prospect(p, archive)
        elif i < 41:  # only in another account group: cannot be added (unsupported)
            prospect(p, partners_eu)
        # the rest are in no audience at all: unsupported too
    for i in range(6):  # people nobody routes: left where they are (`unmanaged: keep`)
        other = {"ident": f"kept-contact-{3000 + i}", "first": "Kept", "last": LAST[i], "title": "Advisor"}
        prospect(other, managed[i % 3])
    for i in range(2):  # a prospecting job is still filling this one: left alone
        other = {"ident": f"new-prospect-{4000 + i}", "first": "New", "last": LAST[i + 5], "title": "Founder"}
        prospect(other, importing)
    seed = {
        "api_keys": [{"key": "sk_live_sandbox_sonarly_example", "scopes": ["all:all"]}],
        "account_groups": [{"id": group, "name": "Growth Team"}, {"id": partners, "name": "Partners"}],
        "audiences": [{**a, "populating": a.get("populating", False)} for a in audiences],
        "prospects": prospects,
    }
    (EXAMPLES / "sonarly-sandbox.remote.json").write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    quickstart()
    realistic()
    sonarly()
    sonarly_sandbox()
