"""Helpers and fixtures for the sandbox tests (tests/test_sandbox_*.py)."""
