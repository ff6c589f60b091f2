"""Background-callback managers: diskcache on one host, Celery across hosts (SPEC §12), each without a
cost Dash's own adds when a finished job's result is collected."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import dash
import psutil

#: How long to wait for a killed job to die before the poll that killed it answers (Dash waits 1 s).
JOB_EXIT_SECONDS = 1.0


class DiskcacheJobs(dash.DiskcacheManager):
    """Dash's diskcache manager, but a finished job costs no extra second.

    Dash kills the job's process when its result is collected and then waits for the process to be gone
    (``psutil.Process.wait(1)``). The job was forked by whichever gunicorn worker got the request, so when
    the poll that collects the result lands on the other worker, the finished job is a zombie that only
    its parent can reap: the wait always ran into its 1 s timeout. A zombie is dead already; only a
    living process is waited for.
    """

    def terminate_job(self, job: Any) -> None:
        if job is None:
            return
        with self.handle.transact():  # as Dash: workers do not kill the same job at the same time
            try:
                process = psutil.Process(int(job))
                for child in process.children(recursive=True):
                    _kill(child)
                _kill(process)
            except psutil.NoSuchProcess:
                return
            _wait_dead(process, JOB_EXIT_SECONDS)


class CeleryJobs(dash.CeleryManager):
    """Dash's Celery manager, but a finished task is left to finish.

    Once the result is in the backend the task's function has returned; Dash still sends the worker a
    terminate for it, which with prompt polls reaches the worker while it is completing the task and
    kills the pool process it ran in (the worker logs "Terminating", not "succeeded", and forks a new
    one). A task is terminated only when the user cancels it.
    """

    def get_result(self, key: Any, job: Any) -> Any:
        return super().get_result(key, None)


def _kill(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.kill()


def _wait_dead(process: psutil.Process, seconds: float) -> None:
    """Until the process is gone or a zombie (dead, waiting for its parent), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return
            process.wait(0.005)
            return
        except psutil.TimeoutExpired:
            continue
        except psutil.NoSuchProcess:
            return


def celery_app(broker_url: str) -> Any:
    """A Celery app using Redis (or any broker URL) as broker and result store; JSON only, no pickle."""
    from celery import Celery

    app = Celery("overwatch", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app
