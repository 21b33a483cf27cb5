"""The API key, blanked from whatever a vendor sends back, in every encoding it could be echoed in.

A vendor (or an edge in front of it) may echo the request's Authorization header in an error message, a job's
error, an HTML page or a record: raw, percent-encoded, in base64 (alone, or inside a longer encoded text such as
"Bearer <key>" encoded whole), in hex, or JSON-escaped (`\\u0073\\u006b...`, which parsing turns back into the raw
key). `KeyScrubber` blanks each form before the text reaches a message, an exception, a plan or a snapshot.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, unquote

REDACTED = "[redacted]"
#: the vendor's words when, blanked of every known form, they still betray the key
WITHHELD = "[the vendor's words are withheld: they hold the API key in a form leadsync cannot blank]"
#: how much of the key, found anywhere once decoded, betrays it (a key cut short or split is still a key)
WINDOW = 12
#: shorter forms would blank ordinary words (a key is never that short: the vendors' are 30+ characters)
MIN_FORM = 8


def key_problem(key: str) -> str | None:
    """Why `key` cannot be sent in an HTTP header (None: it can): said without showing the key."""
    for position, char in enumerate(key, start=1):
        if not char.isascii() or not char.isprintable() or char.isspace():
            kind = "a non-ASCII character" if not char.isascii() else "a space or control character"
            return f"has {kind} at position {position} (an HTTP header carries printable ASCII only)"
    return None


def key_forms(key: str) -> list[str]:
    """Every text that betrays `key`, longest first (so that no form is half blanked)."""
    raw = key.encode()
    forms = {key, quote(key, safe=""), quote(key), quote(key, safe="/+="), quote_plus(key),
             "".join(f"%{b:02X}" for b in raw),
             "".join(f"%{b:02x}" for b in raw), raw.hex(), raw.hex().upper()}  # fmt: skip
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode())  # padded and not: longest first blanks the padding with it
        forms.add(encode(raw).decode().rstrip("="))
        for shift in range(3):  # the key inside a longer encoded text, at each of base64's three alignments
            text = encode(b"\0" * shift + raw).decode()
            forms.add(text[(shift * 4 + 2) // 3 : -4])  # only the characters that depend on the key's bytes alone
    return sorted((f for f in forms if len(f) >= MIN_FORM), key=len, reverse=True)


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def json_unescaped(text: str) -> str:
    """`text` with JSON's escapes undone (`\\u0073`, `\\/`...), as parsing would: what a search must look in."""
    return _ESCAPE.sub(lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else _SIMPLE.get(m[1], m[1]), text)


class KeyScrubber:
    """Blanks one key's forms from text and from parsed JSON."""

    def __init__(self, key: str) -> None:
        forms = key_forms(key)
        # case-insensitive: hex and percent-encoding come in either case, and an edge may upper-case a whole line
        self._pattern = re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE) if forms else None
        self._lowered = sorted({f.lower() for f in forms}, key=len, reverse=True)
        width = min(WINDOW, len(key))
        self._pieces = {key[i : i + width].lower() for i in range(len(key) - width + 1)} if width >= MIN_FORM else set()

    def found_in(self, text: str) -> bool:
        """Whether any form is in `text`: substring searches, far cheaper than the pattern on a page of leads."""
        lowered = text.lower()
        return any(form in lowered for form in self._lowered)

    def found_in_json(self, text: str) -> bool:
        """Whether any form is in the JSON `text` or in the strings it holds once its escapes are undone."""
        return self.found_in(text) or ("\\" in text and self.found_in(json_unescaped(text)))

    def text(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern and self.found_in(text) else text

    def betrays(self, text: str) -> bool:
        """Whether some WINDOW characters of the key are in `text` once decoded every way it could be hidden:
        percent-encoding in any mixture, JSON escapes, and base64 or hex runs, whitespace and line breaks taken
        out (base64 wrapped at 76 columns). Slower than `found_in`: for the vendor's words, not for records."""
        if not self._pieces:
            return False
        compact = re.sub(r"\s+", "", text)
        views = [text, unquote(text, errors="replace"), unquote(compact, errors="replace"), json_unescaped(text)]
        for run in re.findall(r"[A-Za-z0-9+/_=-]{16,}", compact):
            for start in range(4):
                chunk = run[start:].rstrip("=")
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                for alphabet in (b"+/", b"-_"):
                    with contextlib.suppress(ValueError):  # not base64 in this alphabet
                        views.append(base64.b64decode(chunk, altchars=alphabet).decode("latin-1"))
        for run in re.findall(r"[0-9a-fA-F]{16,}", compact):
            views += [bytes.fromhex(run[i : len(run) - (len(run) - i) % 2]).decode("latin-1") for i in (0, 1)]
        return any(piece in view.lower() for view in views for piece in self._pieces)

    def value(self, value: Any) -> Any:
        """`value` (parsed JSON) with every string, key or value, scrubbed."""
        return map_strings(value, self.text)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """`value` (parsed JSON) with `change` applied to every string in it, keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {change(k) if isinstance(k, str) else k: map_strings(v, change) for k, v in value.items()}
    return value
