"""Fixtures of the core tests: test workflows registered for one test."""

from __future__ import annotations

import pytest

from core.workflow import workflow_register, workflow_unregister


@pytest.fixture
def register():
    """Register workflows for one test; they are forgotten after it."""
    names = []

    def add(workflow):
        workflow_register(workflow)
        names.append(workflow.name)
        return workflow

    yield add
    for name in names:
        workflow_unregister(name)
