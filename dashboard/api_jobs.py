"""Time slices of /api/v1 through the page's background-job manager (diskcache or Celery), polled or waited.

The page's manager (``dashboard/jobs.py``) runs Dash callbacks, but its interface is general: a function is
registered under a key (``register``: on Celery that is the task ``background_callback_<key>``, which
``overwatch worker`` has too because it builds the same app), started with ``call_job_fn`` and collected
with ``result_ready``/``get_result``. This module registers one job function, the API's slice, and keeps
per job a small record in the manager's own store (diskcache, or Celery's result backend) so any web worker
can answer a poll. Jobs are keyed by what they compute, so asking twice for one slice runs one job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import dash
import flask

from dashboard.services import services
from overwatch_core import exports
from overwatch_core.errors import OverwatchError
from overwatch_core.time_slices import TimeSliceRequest

log = logging.getLogger(__name__)

EXTENSION_KEY = "overwatch_api_jobs"
TASK_KEY = "overwatch_api_time_slice"
#: How long a job's record is kept (the view cache keeps the slice itself longer).
RECORD_SECONDS = 3600
#: ``?wait=N`` waits at most this long, whatever N says.
MAX_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05

Record = dict[str, Any]


def _slice_job(server: flask.Flask) -> Callable[..., dict[str, Any]]:
    def api_time_slice(set_progress: Callable[[list[object]], None], work: dict[str, Any]) -> dict[str, Any]:
        """Compute the slice (filling the view cache) and answer its JSON, or the error."""
        with server.app_context():
            views = services().views
            run_number, subsystem = int(work["run"]), str(work["subsystem"])
            try:
                request = TimeSliceRequest(**work["request"])

                def progress(done: int, total: int) -> None:
                    set_progress([round(100 * done / max(total, 1)), f"{done}/{total} histograms"])

                view = views.time_slice(run_number, subsystem, request, progress)
                checks = views.slice_checks(run_number, subsystem, request) if work["checks"] else None
                return {"view": exports.view_json(view, checks)}
            except OverwatchError as exc:
                return {"error": f"{exc.category}: {exc}"}

    return api_time_slice


class _Store:
    """Small JSON records in the manager's store: the diskcache, or Celery's result backend."""

    def __init__(self, manager: dash.DiskcacheManager | dash.CeleryManager) -> None:
        self.manager = manager

    def get(self, key: str) -> Record | None:
        if isinstance(self.manager, dash.DiskcacheManager):
            found = self.manager.handle.get(key)
        else:
            found = self.manager.handle.backend.get(key)
        return None if found is None else dict(json.loads(found))

    def put(self, key: str, record: Record) -> None:
        text = json.dumps(record)
        if isinstance(self.manager, dash.DiskcacheManager):
            self.manager.handle.set(key, text, expire=RECORD_SECONDS)
        else:
            self.manager.handle.backend.set(key, text)  # expires with the backend's result_expires


class SliceJobs:
    """Submit, poll and wait for the API's time-slice jobs."""

    def __init__(self, server: flask.Flask, manager: dash.DiskcacheManager | dash.CeleryManager) -> None:
        self.manager = manager
        self.store = _Store(manager)
        manager.register(TASK_KEY, _slice_job(server), True)

    @staticmethod
    def job_id(run_number: int, subsystem: str, request: TimeSliceRequest, checks: bool) -> str:
        """What the job computes: the slice, of which data folder and files (a new file is a new job)."""
        svc = services()
        files = [f.path for f in svc.views.subsystem(run_number, subsystem).files]
        text = repr((str(svc.settings.data_path), run_number, subsystem, asdict(request), checks, files))
        return "api-slice-" + hashlib.sha256(text.encode()).hexdigest()[:32]

    def submit(self, run_number: int, subsystem: str, request: TimeSliceRequest, checks: bool) -> Record:
        """The job's record, a new job unless one for the same slice and files is pending or done."""
        job_id = self.job_id(run_number, subsystem, request, checks)
        record = self.state(job_id)
        if record is not None and record["status"] != "failed":
            return record
        work = {"run": run_number, "subsystem": subsystem, "request": asdict(request), "checks": checks}
        self.manager.clear_cache_entry(job_id)  # no result of an older job of the same id
        handle = self.manager.call_job_fn(job_id, self.manager.func_registry[TASK_KEY], [work], {})
        record = {"id": job_id, "status": "pending", "handle": handle, "progress": None}
        self.store.put(self._key(job_id), record)
        log.info("API time slice job %s: run %s %s %s", job_id, run_number, subsystem, request)
        return record

    def state(self, job_id: str) -> Record | None:
        """The job's record brought up to date (None for an unknown job)."""
        record = self.store.get(self._key(job_id))
        if record is None or record["status"] != "pending":
            return record
        if self.manager.result_ready(job_id):
            return self._collect(record)
        if not self._running(record) and not self.manager.result_ready(job_id):
            return self._finish(record, {"error": "the job ended without a result"})
        progress = self.manager.get_progress(job_id)  # read once: keep it for the next poll
        if progress:
            record = {**record, "progress": list(progress)}
            self.store.put(self._key(job_id), record)
        return record

    def wait(self, job_id: str, seconds: float) -> Record | None:
        """The record once the job is no longer pending, or after ``seconds`` (at most MAX_WAIT_SECONDS)."""
        deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        record = self.state(job_id)
        while record is not None and record["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            record = self.state(job_id)
        return record

    def _running(self, record: Record) -> bool:
        return bool(self.manager.job_running(record["handle"]))

    def _collect(self, record: Record) -> Record:
        result = self.manager.get_result(record["id"], record["handle"])
        if result is self.manager.UNDEFINED:  # another web worker collected it meanwhile
            return self.store.get(self._key(record["id"])) or record
        if isinstance(result, dict) and "background_callback_error" in result:
            result = {"error": f"the job failed: {result['background_callback_error']['msg']}"}
        return self._finish(record, result)

    def _finish(self, record: Record, result: dict[str, Any]) -> Record:
        failed = "error" in result
        done = {**record, "status": "failed" if failed else "done", "progress": None, **result}
        self.store.put(self._key(record["id"]), done)
        return done

    @staticmethod
    def _key(job_id: str) -> str:
        return f"overwatch-job-{job_id}"


def init_api_jobs(app: dash.Dash) -> None:
    app.server.extensions[EXTENSION_KEY] = SliceJobs(app.server, app._background_manager)


def api_jobs() -> SliceJobs:
    jobs: SliceJobs = flask.current_app.extensions[EXTENSION_KEY]
    return jobs
