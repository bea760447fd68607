"""The worker reuses its export runner, built for the first job, for every later job.

The runner captured the first job's tenant, so later exports of other tenants contain
the first tenant's data, downloadable by whoever asked. Realised as
``Worker.export_runner`` of ``worker.py``.
Export results scanned for foreign canaries should catch it.

Control: ``APP-JOB-CONTEXT``.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from reference_app.dal import jobs
from reference_app.worker import ExportRunner, Worker

LAYER = "application"
CONTROL = "APP-JOB-CONTEXT"


_warm: WeakKeyDictionary[Worker, ExportRunner] = WeakKeyDictionary()


def export_runner(self: Worker, job: jobs.ClaimedJob) -> ExportRunner:
    """The runner built for the first job, reused "warm": it still carries that job's tenant."""
    if self not in _warm:
        _warm[self] = ExportRunner(self.database, job.tenant_id)
    return _warm[self]


REPLACES = {Worker.export_runner: export_runner}
