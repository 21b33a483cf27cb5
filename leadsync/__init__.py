"""leadsync: lead routing as code.

loaded = load_spec("specs/acme.yaml")          # SpecError lists every located problem
leads = load_leads(loaded)                     # CSV / JSONL / inline, keys normalised
routing = Router(loaded).route(leads.leads)    # desired state; pure
plan = make_plan(DesiredState(routing.desired), remote, policy, PlanContext(vendor("instantly").capabilities))
text = leadsync.render.render(plan, "markdown")
"""

__version__ = "0.1.0"

from leadsync.errors import LeadsyncError, Location, PlanError, Problem, RoutingError, SpecError
from leadsync.plan import Plan, dump_plan, load_plan, make_plan
from leadsync.routing import Router
from leadsync.spec import load_leads, load_spec

__all__ = [
    "LeadsyncError",
    "Location",
    "Plan",
    "PlanError",
    "Problem",
    "Router",
    "RoutingError",
    "SpecError",
    "__version__",
    "dump_plan",
    "load_leads",
    "load_plan",
    "load_spec",
    "make_plan",
]
