from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadsync.state import KeyKind, Lead, normalise_email, normalise_linkedin


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("jane@bigco.test", "jane@bigco.test"),
        ("  Jane.Doe@BigCo.TEST ", "jane.doe@bigco.test"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
        ("no-at-sign.test", None),
        ("two@@ats.test", None),
        ("jane@localhost", None),
        ("jane@bigco..test", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_emails(raw: object, key: str | None) -> None:
    assert normalise_email(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        "jane-doe-4711",
        "Jane-Doe-4711",
        "https://www.linkedin.com/in/jane-doe-4711/",
        "https://www.linkedin.com/in/Jane-Doe-4711?trk=public_profile",
        "http://de.linkedin.com/in/jane-doe-4711",
        "linkedin.com/in/jane-doe-4711/",
        "www.linkedin.com/in/jane-doe-4711",
        " https://m.linkedin.com/in/jane-doe-4711/details/ ",
    ],
)
def test_linkedin_profiles_normalise_to_the_identifier(raw: str) -> None:
    assert normalise_linkedin(raw) == "jane-doe-4711"


def test_linkedin_percent_encoding() -> None:
    assert normalise_linkedin("https://www.linkedin.com/in/j%C3%BCrgen-m%C3%BCller/") == "jürgen-müller"


@pytest.mark.parametrize(
    "raw", ["https://example.test/in/jane", "https://www.linkedin.com/company/acme", "ab", "jane doe", ""]
)
def test_not_linkedin_profiles(raw: str) -> None:
    assert normalise_linkedin(raw) is None


@given(st.emails())
def test_email_normalisation_is_idempotent_and_case_blind(email: str) -> None:
    key = normalise_email(email)
    if key is not None:
        assert normalise_email(key) == key
        assert normalise_email(f"  {email.upper()}  ") == normalise_email(email.upper())


@given(st.from_regex(r"[a-z0-9][a-z0-9\-]{2,30}", fullmatch=True))
def test_every_profile_form_gives_the_same_key(ident: str) -> None:
    forms = [ident, f"https://www.linkedin.com/in/{ident}/", f"linkedin.com/in/{ident.upper()}"]
    assert {KeyKind.LINKEDIN.normalise(f) for f in forms} == {ident}


def test_lead_is_a_mapping_of_present_attributes() -> None:
    lead = Lead("ana@one.test", ("ana@one.test", "", "DE"), {"email": 0, "size": 1, "country": 2}, "x.csv", 2)
    assert dict(lead) == {"country": "DE", "email": "ana@one.test"}
    assert lead.value("size") is None
    assert lead.value("domain") == "one.test"
    assert lead.value("missing") is None
