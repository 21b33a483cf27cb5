"""The spec language: YAML -> a validated spec, its conditions and its leads."""

from leadsync.spec.loader import LoadedSpec, load_spec
from leadsync.spec.models import Spec, spec_json_schema
from leadsync.spec.sources import LeadSet, load_leads

__all__ = ["LeadSet", "LoadedSpec", "Spec", "load_leads", "load_spec", "spec_json_schema"]
