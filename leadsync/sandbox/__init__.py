"""The sandbox: a local, faithful emulator of the Instantly and Sonarly APIs, over real HTTP on loopback.

It is the embedded default (`workspace: {provider: sandbox, seed: ...}`), the backend of the integration tests,
and the yardstick of the benchmarks (it counts calls). It behaves like the vendors, quirks included, not like
leadsync's client expects; docs/sandbox.md says what is emulated and what was assumed where the vendors are
silent. It imports nothing from leadsync's client side (spec, plan, routing, providers, cli).

    with start("specs/examples/quickstart.remote.json") as sandbox:
        httpx.post(sandbox.url + "/api/v2/leads/list", json={}, headers={"Authorization": f"Bearer {sandbox.api_key}"})
        sandbox.stats()  # {"calls": {"POST /api/v2/leads/list": 1}}
"""

from leadsync.errors import FaultSpecError, SandboxError, SeedError

from ._clock import Clock, ManualClock, SystemClock
from ._faults import FaultRule, FaultSpec, parse_faults
from ._ratelimit import RateLimit
from ._seed import infer_vendor, read_seed
from ._server import RunningSandbox, reset, serve, start

__all__ = [
    "Clock",
    "FaultRule",
    "FaultSpec",
    "FaultSpecError",
    "ManualClock",
    "RateLimit",
    "RunningSandbox",
    "SandboxError",
    "SeedError",
    "SystemClock",
    "infer_vendor",
    "parse_faults",
    "read_seed",
    "reset",
    "serve",
    "start",
]
