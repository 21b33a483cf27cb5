"""What a provider's calls came to, by endpoint: counted by its HTTP client, read by apply and the CLI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CallStats:
    calls: Counter[str] = field(default_factory=Counter)  # by endpoint template, e.g. "POST /api/v2/leads/add"
    retries: int = 0
