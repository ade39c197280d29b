"""`python -m tests.e2e.incompatible_worker`: the local worker (`oms.local.worker`, settings from
`OMS_*`) with a deliberately incompatible OrderWorkflow (authorize before reserve): the "build B"
of the Worker Versioning end-to-end test."""

from __future__ import annotations

import os
import sys

import oms.worker
from oms.local.worker import main
from tests.workflows.variants import ReorderedOrderWorkflow

if __name__ == "__main__":
    oms.worker.WORKFLOWS[:] = [ReorderedOrderWorkflow]
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio can abort at interpreter exit (sdk-python#300)
