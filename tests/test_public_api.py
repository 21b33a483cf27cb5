"""The public surface is deliberate: nothing leaks into it by accident."""

import leadsync
from leadsync.errors import SnapshotError, UnsafePlanError


def test_public_names() -> None:
    assert leadsync.__all__ == [
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
    for name in leadsync.__all__:
        assert getattr(leadsync, name) is not None


def test_every_error_is_a_leadsync_error() -> None:

    for error in (leadsync.SpecError, leadsync.RoutingError, leadsync.PlanError, UnsafePlanError, SnapshotError):
        assert issubclass(error, leadsync.LeadsyncError)
