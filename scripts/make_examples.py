"""Regenerates the example data under specs/examples/ (deterministic: same bytes every run).

    python scripts/make_examples.py
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
         "Mira", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoe"]
LAST = ["Adler", "Brandt", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
        "Keller", "Larsen", "Moreau", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Tanaka", "Weber"]
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
        domain = STRATEGIC[i % 4] if i < 4 else f"{rng.choice(['acme', 'nimbus', 'orbit', 'zephyr', 'quanta', 'lumen'])}{i}.test"
        p = person(rng, i, domain)
        size = rng.choice([12, 40, 85, 150, 400, 1200, 2500, 9000])
        rows.append({"Email": p["email"], "first_name": p["first"], "last_name": p["last"],
                     "company_name": domain.split(".")[0].title(), "employees": size,
                     "country": rng.choice(COUNTRIES)})
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
    lists = [{"id": "l0000000-0000-4000-8000-000000000001", "name": "Nurture"}]
    leads = []
    # a workspace that half matches the spec: some leads in place, some misplaced, some re-owned, some replied
    places = [("campaign", campaigns[0]["id"]), ("campaign", campaigns[1]["id"]), ("list_id", lists[0]["id"])]
    for i, row in enumerate(rows[:24]):
        where = places[i % 3]
        lead = {"id": f"1ead0000-0000-4000-8000-{i:012d}", "email": row["Email"], where[0]: where[1],
                "assigned_to": members[i % 3]["user_id"], "first_name": row["first_name"],
                "last_name": row["last_name"], "company_name": row["company_name"],
                "status": 1, "lt_interest_status": 0 if i % 11 else 1, "email_reply_count": 1 if i == 5 else 0}
        leads.append(lead)
    leads.append({"id": "1ead0000-0000-4000-8000-000000000900", "email": "old.contact@legacy.test",
                  "campaign": campaigns[2]["id"], "assigned_to": members[0]["user_id"], "status": 3,
                  "lt_interest_status": 0, "email_reply_count": 0})
    seed = {"api_keys": [{"key": "sandbox-quickstart-key", "scopes": ["all:*"]}], "members": members,
            "campaigns": campaigns, "lists": lists, "leads": leads}
    (EXAMPLES / "quickstart.remote.json").write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")


def realistic() -> None:
    rng = random.Random(42)
    rows = []
    for i in range(400):
        if i % 25 == 0:
            domain = STRATEGIC[(i // 25) % len(STRATEGIC)]
        else:
            domain = f"{rng.choice(['acme', 'nimbus', 'orbit', 'zephyr', 'quanta', 'lumen', 'vertex', 'atlas'])}-{i}.test"
        p = person(rng, i, domain)
        rows.append({"email": p["email"], "first_name": p["first"], "last_name": p["last"],
                     "company": domain.split(".")[0].title(),
                     "employees": rng.choice([5, 18, 45, 120, 260, 700, 1500, 4000, 12000]),
                     "hq_country": rng.choice(COUNTRIES), "industry": rng.choice(INDUSTRIES),
                     "title": rng.choice(["CEO", "CTO", "VP Sales", "Head of RevOps", "Engineer", "Founder"])})
    with (EXAMPLES / "acme-routing.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def sonarly() -> None:
    rng = random.Random(3)
    with (EXAMPLES / "sonarly-founders.leads.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["profile", "first_name", "last_name", "title", "country"])
        for i in range(30):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            ident = f"{first}-{last}-{1000 + i}".lower()
            url = [f"https://www.linkedin.com/in/{ident}/", f"linkedin.com/in/{ident}", ident][i % 3]
            writer.writerow([url, first, last, rng.choice(["Founder", "CEO", "CTO", "Head of Growth"]),
                             rng.choice(["DE", "FR", "GB", "US", "SE"])])


def sonarly_sandbox() -> None:
    """The Sonarly example on the embedded sandbox: a seed for the account group and the people to route."""
    rng = random.Random(11)
    group, partners = "65a000000000000000000001", "65a000000000000000000002"
    audiences = [
        {"id": "65b000000000000000000001", "name": "Founders EU", "account_group_id": group, "type": "linkedin_search"},
        {"id": "65b000000000000000000002", "name": "Founders US", "account_group_id": group, "type": "linkedin_search"},
        {"id": "65b000000000000000000003", "name": "Tech Leaders", "account_group_id": group,
         "type": "sales_navigator"},
        {"id": "65b000000000000000000004", "name": "Archive", "account_group_id": group, "type": "linkedin_search"},
        {"id": "65b000000000000000000005", "name": "Q3 Import", "account_group_id": group, "type": "linkedin_search",
         "populating": True},
        # the same name in another account group: not ours
        {"id": "65b000000000000000000006", "name": "Founders EU", "account_group_id": partners,
         "type": "linkedin_search"},
    ]
    eu, us, tech, archive, importing, partners_eu = (a["id"] for a in audiences)
    people = []
    for i in range(44):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        title = rng.choice(["Founder", "CEO", "CTO", "Head of Growth"])
        country = rng.choice(["DE", "FR", "GB", "US", "SE", "US"])
        ident = f"{first}-{last}-{2000 + i}".lower()
        founder, europe = title in ("Founder", "CEO"), country in ("DE", "FR", "GB", "SE")
        people.append({"ident": ident, "first": first, "last": last, "title": title, "country": country,
                       "wanted": eu if founder and europe else us if founder else tech})
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
        record = {"id": f"65c{n:021x}", "audience_id": audience, "publicIdentifier": p["ident"],
                  "linkedinUrl": f"https://www.linkedin.com/in/{p['ident']}/", "firstName": p["first"],
                  "lastName": p["last"], "headline": f"{p['title']} at {p['last']} Labs",
                  "company": {"name": f"{p['last']} Labs"}}
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
    seed = {"api_keys": [{"key": "sk_live_sandbox_sonarly_example", "scopes": ["all:all"]}],
            "account_groups": [{"id": group, "name": "Growth Team"}, {"id": partners, "name": "Partners"}],
            "audiences": [{**a, "populating": a.get("populating", False)} for a in audiences],
            "prospects": prospects}
    (EXAMPLES / "sonarly-sandbox.remote.json").write_text(json.dumps(seed, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    quickstart()
    realistic()
    sonarly()
    sonarly_sandbox()
