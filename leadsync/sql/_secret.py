"""A database URL's secret kept out of messages: the URL itself, its password, plain or percent-encoded."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

_HIDDEN = "***"


def secrets_of(url: str) -> list[str]:
    """The texts of `url` a message must not show, longest first."""
    found = {url}
    try:
        password = urlsplit(url).password
    except ValueError:  # a port that is no number, say: the URL is still a secret as a whole
        password = None
    if password:
        found |= {password, unquote(password), quote(unquote(password), safe="")}
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` with every secret of `url` replaced by ***."""
    for secret in secrets_of(url):
        text = text.replace(secret, _HIDDEN)
    return text
