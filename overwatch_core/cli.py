"""The `overwatch` command line: demo data, ingest, process, rebuild, replay, runs, slices and trends."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import diskcache

from overwatch_core import demo, exports, filenames, schema
from overwatch_core.archive import ARCHIVE_NAME, plan_archive, write_archive
from overwatch_core.catalog import Catalog, FileReport, RunPage, make_engine
from overwatch_core.cli_users import add_users_parser
from overwatch_core.errors import ConfigError, OverwatchError
from overwatch_core.ingest import rebuild
from overwatch_core.logs import configure_logging, gunicorn_log_config
from overwatch_core.processing import Processor, kept_lease, leader_lock, open_services, stand_by
from overwatch_core.quality import subsystem_quality
from overwatch_core.settings import Settings, load_settings
from overwatch_core.subsystems.registry import get_subsystem
from overwatch_core.time_slices import TimeSliceRequest
from overwatch_core.trending import TrendStore, find_source
from overwatch_core.users import Role, UserStore, role_at_least
from overwatch_core.views import SubsystemView, ViewService

log = logging.getLogger("overwatch")


def _processor(settings: Settings) -> Processor:
    """The processing loop's services: a smaller in-memory level than a dashboard worker's (peak RSS)."""
    return Processor(settings, *open_services(settings, settings.process_histogram_cache_mb))


def _views(settings: Settings) -> ViewService:
    catalog, cache = open_services(settings)
    view_cache = diskcache.Cache(settings.cache_path / "views", size_limit=settings.view_cache_mb * 2**20)
    return ViewService(settings, catalog, cache, view_cache)


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else settings.drop_path
    tz = filenames.zone(settings.timezone)
    started = time.perf_counter()
    summary = demo.generate_demo_data(out, seed=args.seed, n_runs=args.runs, tz=tz)
    seconds = time.perf_counter() - started
    print(f"wrote {summary.total_files} files for {len(summary.runs)} runs into {out} in {seconds:.1f} s")
    hot_runs = [r.run_number for r in summary.runs if r.hot_channels]
    print(
        f"hot FastOR IDs {list(summary.hot_fastor_ids)} appear from minute {summary.hot_from_minute} "
        f"in runs {hot_runs}"
    )
    if args.live_source:
        live = demo.generate_source_run(
            Path(args.live_source),
            summary.newest_run_number + 1,
            n_files=args.live_files,
            seed=args.seed,
            tz=tz,
        )
        run = live.runs[0]
        print(f"wrote live run {run.run_number} ({run.n_files} files) into {args.live_source} for replay")
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    report = _processor(settings).ingester.run_pass()
    for name, reason in report.quarantined:
        print(f"quarantined {name}: {reason}", file=sys.stderr)
    print(f"ingest: {report.summary()}")
    return 0


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    processor = _processor(settings)
    count = processor.recompute_trends() if args.trending else rebuild(processor.ingester)
    processor.notifier.close()  # send (or hand to Celery) the queued alarm notifications before exiting
    extra = f" and {processor.trends.count()} trend values" if args.trending else ""
    print(f"rebuilt the catalog from {count} files{extra} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    def on_file(path: Path) -> None:
        print(f"replayed {path.name}", flush=True)

    copied = demo.replay_run(
        Path(args.source), settings.drop_path, args.run, cadence_seconds=args.cadence, on_file=on_file
    )
    print(f"replay of run {args.run} finished: {copied} files")
    return 0


def cmd_process(settings: Settings, args: argparse.Namespace) -> int:
    processor = _processor(settings)
    catalog, lease = processor.ingester.catalog, processor.lease_seconds
    if not args.watch:
        with leader_lock(catalog, lease):
            report = processor.run_pass()
            print(f"process: {report.summary()}")
            for path, problem in report.failed:
                print(f"  failed: {path}: {problem}")
            processor.notifier.close()  # send the queued alarm notifications before exiting
            return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if not stand_by(catalog, lease, stop, settings.process_period_seconds):
        _announce(settings, "process: stopped while standing by")
        return 0
    with leader_lock(catalog, lease) as renew, kept_lease(renew, lease, stop):
        period = settings.process_period_seconds
        _announce(settings, f"watching {settings.drop_path} every {period:g} s (Ctrl-C stops)")
        passes = processor.watch(stop, renew)
        processor.notifier.close()
    _announce(settings, f"process: stopped after {passes} passes")
    return 0


def _announce(settings: Settings, text: str) -> None:
    """What a service says at start and stop: printed, or with JSON logs a log record like all its lines."""
    if settings.log_format == "json":
        log.info("%s", text)
    else:
        print(text, flush=True)


def _print_view(view: SubsystemView) -> None:
    print(f"Run {view.run_number} {view.subsystem}: {view.describe()}")
    print(f"files: {', '.join(view.files)}")
    for group in view.groups:
        print(f"\n[{group.name}]{' (grid)' if group.grid else ''}")
        for hist in group.histograms:
            layer = hist.layers[0].hist
            total, peak = float(layer.values.sum()), float(layer.values.max(initial=0.0))
            print(f"  {hist.pretty_name:60} {hist.root_class:10} sum={total:.6g} max={peak:.6g}")
            for label, text in hist.information.items():
                print(f"      {label}: {text}")
    print(f"\n{'cached' if view.from_cache else 'computed'} in {view.seconds * 1000:.0f} ms")


def cmd_slice(settings: Settings, args: argparse.Namespace) -> int:
    request = TimeSliceRequest(args.from_minute, args.to_minute, not args.no_scale, args.threshold)
    views = _views(settings)
    view = views.time_slice(args.run, args.subsystem, request)
    results = views.slice_checks(args.run, args.subsystem, request) if args.checks else None
    if args.json:
        print(json.dumps(exports.view_json(view, results), indent=2))
        return 0
    _print_view(view)
    if results is not None:
        problems = [(n, r) for n, found in results.items() for r in found if r.quality in ("Bad", "Medium")]
        print(f"checks of the slice: {len(results)} histograms checked, {len(problems)} problems")
        for name, result in problems:
            print(f"  {result.quality:6}  {name}  {result.check}: {result.message}")
    return 0


def _run_range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError as exc:
        raise OverwatchError(f"--runs must look like 300000-300031, got {text!r}") from exc


def cmd_trend(settings: Settings, args: argparse.Namespace) -> int:
    catalog, _ = open_services(settings)
    find_source(get_subsystem(args.subsystem, settings.subsystems), args.trend)
    store = TrendStore(catalog)
    missing: list[tuple[int, datetime, str]] = []
    if args.runs:
        points = store.across_runs(args.subsystem, args.trend, *_run_range(args.runs))
    else:
        run = args.run if args.run is not None else max(catalog.run_numbers(), default=0)
        points = store.within_run(args.subsystem, args.trend, run)
        missing = [(run, t, r) for t, r in store.missing_within_run(args.subsystem, args.trend, run)]
    if args.json:
        print(json.dumps(exports.trend_json(args.subsystem, args.trend, points, missing), indent=2))
        return 0
    for run, stamp, reason in missing:
        print(f"{run:>8}  {stamp:%Y-%m-%d %H:%M:%S}  no value: {reason}")
    if not points:
        print(f"no values of {args.trend} for {args.subsystem}")
    for p in points:
        error = "" if p.error is None else f" ± {p.error:.4g}"
        alarms = f"  ALARM {'; '.join(p.alarms)}" if p.alarms else ""
        print(f"{p.run_number:>8}  {p.timestamp:%Y-%m-%d %H:%M:%S}  {p.value:.6g}{error}{alarms}")
    return 0


def cmd_archive(settings: Settings, args: argparse.Namespace) -> int:
    """The same zip as the web app's /testing-data-archive, written to a file."""
    catalog, _ = open_services(settings)
    plan = plan_archive(catalog, settings.subsystems)
    out = Path(args.out or ARCHIVE_NAME)
    with out.open("wb") as handle:
        size = write_archive(handle, settings.data_path, plan.paths)
    runs = ", ".join(str(n) for n in plan.run_numbers)
    print(f"wrote {out}: {len(plan.paths)} files of runs {runs}, {size / 2**20:.1f} MB")
    return 0


#: gunicorn's default access-log line with the answering worker's PID last ("<1234>"): which worker
#: served a request (a job's polls land on any of them) is then in the log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(p)s'


def _gunicorn_command(settings: Settings) -> list[str]:
    """gunicorn serving the dashboard; the core only names the module, it never imports the web app."""
    command = [
        sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(settings.workers),
        "--bind", f"{settings.host}:{settings.port}", "--timeout", "120", "--access-logfile", "-",
        "--access-logformat", ACCESS_LOG_FORMAT,
    ]  # fmt: skip
    if settings.log_format == "json":  # gunicorn's lines, the access log and the app's, as JSON
        config = settings.instance_path / "gunicorn-logging.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(gunicorn_log_config(settings)), encoding="utf-8")
        command += ["--log-config-json", str(config)]
    return [*command, "dashboard.wsgi:server"]


def _child_env(settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["OVERWATCH_DATA_FOLDER"] = str(settings.data_path.resolve())
    if args.config:
        env["OVERWATCH_CONFIG"] = str(Path(args.config).resolve())
    return env


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    address = f"http://{settings.host}:{settings.port}"
    _announce(settings, f"serving the dashboard on {address} with {settings.workers} workers")
    return subprocess.call(_gunicorn_command(settings), env=_serve_env(settings, args))


def _serve_env(settings: Settings, args: argparse.Namespace) -> dict[str, str]:
    """The workers' environment: prometheus-client's multiprocess folder, emptied, so /metrics adds up the
    request counts of every worker of this host."""
    return _metrics_env(_child_env(settings, args), settings.metrics_path)


def _metrics_env(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with prometheus-client's multiprocess folder, emptied (its files are per process id)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(folder))
    return env


DEMO_USERS: tuple[tuple[str, Role], ...] = (("admin", "admin"), ("shifter", "shifter"))


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.celery_broker_url:
        raise ConfigError(
            "celery_broker_url is empty: set it (or OVERWATCH_CELERY_BROKER_URL) to use workers"
        )
    command = [
        sys.executable, "-m", "celery", "-A", "dashboard.worker:celery", "worker",
        "--concurrency", str(args.concurrency), "--loglevel", settings.log_level.upper(),
    ]  # fmt: skip
    if settings.log_format == "json":
        command.insert(command.index("worker"), "--quiet")  # no start-up banner: every line is JSON
    _announce(settings, f"starting a Celery worker for background callbacks ({args.concurrency} processes)")
    # The jobs' metrics go to a folder of this host's instance, which `overwatch serve`'s /metrics adds in.
    env = _child_env(settings, args)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve's folder is emptied whenever serve starts
    return subprocess.call(command, env=_metrics_env(env, settings.worker_metrics_path))


def _demo_user(users: UserStore, name: str, role: Role) -> str:
    """A fresh random password for a demo user (created or reset), shown once on the terminal."""
    password = secrets.token_urlsafe(9)
    if users.get(name) is not None:
        users.remove(name)
    users.add(name, password, role)
    return password


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Demo data, then processing loop + live replay + dashboard until Ctrl-C.

    The dashboard starts as soon as the data is written: the processing loop's first pass ingests the runs
    while it already answers.
    """
    tz = filenames.zone(settings.timezone)
    live_source = settings.data_path.parent / "live-source"
    catalog, _ = open_services(settings)
    if not any(settings.drop_path.glob("Run*")):
        print("generating demo data (about 15 s on 2 cores)…", flush=True)
        summary = demo.generate_demo_data(settings.drop_path, seed=args.seed, tz=tz)
        live_run = summary.newest_run_number + 1
        demo.generate_source_run(live_source, live_run, n_files=args.live_files, seed=args.seed, tz=tz)
    else:
        live_run = max(catalog.run_numbers(), default=0) + 1
    users = UserStore(catalog)
    credentials = {name: _demo_user(users, name, role) for name, role in DEMO_USERS}
    for name in settings.subsystems:  # the first clean run is every subsystem's reference, from the start
        catalog.set_reference(name, demo.REFERENCE_RUN, 0, "demo", require_run=False)
    env = _child_env(settings, args)
    base = [sys.executable, "-m", "overwatch_core.cli"]
    processing = subprocess.Popen(
        [*base, "process", "--watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    children: list[subprocess.Popen[Any]] = [processing]
    if live_source.is_dir():
        replay = [
            *base,
            "replay",
            str(live_run),
            "--source",
            str(live_source),
            "--cadence",
            str(args.cadence),
        ]
        children.append(subprocess.Popen(replay, env=env))
    server = subprocess.Popen(_gunicorn_command(settings), env=_serve_env(settings, args))
    children.append(server)
    url = f"http://{settings.host}:{settings.port}"
    banner = "\n" + demo_banner(url, credentials, live_run, args.cadence) + "\n"
    # The first processing pass summarises each demo run's alarms in a line; the box comes again after it.
    threading.Thread(target=forward_output, args=(processing, banner), daemon=True).start()
    try:
        # Last on the terminal: after gunicorn's start-up lines, once the dashboard answers.
        wait_for_port(settings.host, settings.port, server)
        print(banner, flush=True)
        return server.wait()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def forward_output(process: subprocess.Popen[str], banner: str, marker: str = "process pass:") -> None:
    """Copy the process's output to ours, with ``banner`` once more after the first line naming ``marker``."""
    assert process.stdout is not None
    shown = False
    for line in process.stdout:
        print(line, end="", flush=True)
        if not shown and marker in line:
            shown = True
            print(banner, flush=True)


def wait_for_port(host: str, port: int, process: subprocess.Popen[Any], seconds: float = 60.0) -> bool:
    """Whether something listens on ``host:port`` within ``seconds`` (False early if ``process`` ended)."""
    deadline = time.monotonic() + seconds
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection((target, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def demo_banner(url: str, credentials: Mapping[str, str], live_run: int, cadence: float) -> str:
    """The demo's address and logins in a box, with what happens in the background."""
    lines = [
        f"Overwatch demo: {url}",
        "",
        *(f"log in as {name!r} with password {password!r}" for name, password in credentials.items()),
        "",
        "The demo runs are processed in the background: the run list fills",
        "within about a minute on 2 cores, trends right after.",
        f"Run {live_run} is replayed live (a minute of data every {cadence:g} s).",
        "Ctrl-C stops.",
    ]
    width = max(len(line) for line in lines)
    edge = "+" + "-" * (width + 2) + "+"
    return "\n".join([edge, *(f"| {line.ljust(width)} |" for line in lines), edge])


def _via(name: str, location: str) -> str:
    return "" if name == location else f" via {location}"


def format_run_table(page: RunPage, tz_name: str, problems: Mapping[int, int] | None = None) -> str:
    """A plain-text table of one page of runs; ``problems`` counts files with problems per run."""
    lines = [f"{'run':>8}  {'mode':4}  {'start (' + tz_name + ')':28}  subsystems (files)"]
    for run in page.runs:
        start = run.start.strftime("%a %d %b %Y %H:%M:%S") if run.start else "-"
        subs = ", ".join(
            f"{name} ({count}{_via(name, run.file_locations[name])})"
            for name, count in run.file_counts.items()
        )
        count = (problems or {}).get(run.run_number, 0)
        flag = f"  PROBLEMS in {count} file(s): overwatch files {run.run_number}" if count else ""
        lines.append(f"{run.run_number:>8}  {run.hlt_mode:4}  {start:28}  {subs}{flag}")
    lines.append(
        f"Showing runs {page.first_index}–{page.last_index} of {page.total} (page {page.page}/{page.pages})"
    )
    return "\n".join(lines)


def cmd_runs(settings: Settings, args: argparse.Namespace) -> int:
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    page = catalog.runs_page(args.page, args.per_page)
    problems = catalog.problem_counts([r.run_number for r in page.runs])
    ongoing = catalog.ongoing_run(datetime.now(filenames.zone(settings.timezone)), settings.ongoing_minutes)
    if args.json:
        print(json.dumps(exports.runs_json(page, problems, ongoing), indent=2))
        return 0
    print(format_run_table(page, settings.timezone, problems))
    if ongoing is not None:
        print(f"Run {ongoing} is ongoing.")
    return 0


def cmd_files(settings: Settings, args: argparse.Namespace) -> int:
    """A run's stored files with their processing state, problems and the objects that are not shown."""
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    run = catalog.run(args.run)
    locations = sorted({s.file_location for s in run.subsystems if args.subsystem in (None, s.name)})
    if not locations:
        run.subsystem(args.subsystem)  # raises NotFoundError listing the run's subsystems
    for location in locations:
        reports = catalog.file_reports(run.run_number, location)
        files = next(s.files for s in run.subsystems if s.file_location == location)
        print(f"Run {run.run_number} {location}: {len(files)} files")
        for run_file in files:
            report = reports.get(run_file.path)
            print(f"  {run_file.timestamp:%Y-%m-%d %H:%M:%S}  {run_file.path}  {_state(report)}")
            for line in _report_lines(report):
                print(f"      {line}")
    return 0


def _state(report: FileReport | None) -> str:
    return "recorded before file states were kept" if report is None else report.state


def _report_lines(report: FileReport | None) -> list[str]:
    if report is None:
        return []
    lines = [f"PROBLEM: {report.problem}"] if report.problem else []
    lines += [f"note: {report.note}"] if report.note else []
    lines += [
        f"{'UNDECODABLE' if reason.startswith('cannot decode') else 'not shown'}: {name} ({cls}): {reason}"
        for name, (cls, reason) in report.skipped.items()
    ]
    return lines


def cmd_reference(settings: Settings, args: argparse.Namespace) -> int:
    """Set, show or clear a subsystem's reference run (setting needs an expert or admin user)."""
    processor = _processor(settings)
    catalog = processor.ingester.catalog
    if args.action == "show":
        shown = catalog.references(args.subsystem)
        for ref in shown:
            print(
                f"{ref.subsystem}: reference run {ref.reference_run} for runs from {ref.valid_from} on "
                f"(set by {ref.set_by}, {ref.set_at:%Y-%m-%d %H:%M})"
            )
        if not shown:
            print("no reference runs set")
        return 0
    if args.subsystem is None:
        raise OverwatchError(f"reference {args.action}: name the subsystem")
    if args.action == "clear":
        if args.valid_from is None or not catalog.clear_reference(args.subsystem, args.valid_from):
            raise OverwatchError(f"no reference of {args.subsystem} set from run {args.valid_from}")
        print(f"cleared the {args.subsystem} reference valid from run {args.valid_from}")
        return 0
    if args.run is None or args.user is None:
        raise OverwatchError("reference set: give the reference run (--run) and who sets it (--user)")
    user = UserStore(catalog).get(args.user)
    if user is None or not role_at_least(user.role, "expert"):
        raise OverwatchError(f"only an expert or admin may set a reference; {args.user!r} is not one")
    valid_from = args.run if args.valid_from is None else args.valid_from
    catalog.set_reference(args.subsystem, args.run, valid_from, user.username)
    rechecked = processor.recheck(args.subsystem, valid_from)
    print(
        f"{args.subsystem}: reference run {args.run} for runs from {valid_from} on; "
        f"verdicts of {rechecked} runs recomputed"
    )
    return 0


def cmd_quality(settings: Settings, args: argparse.Namespace) -> int:
    """The verdicts of a run's subsystems (problems first), or the checks a subsystem runs."""
    processor = _processor(settings)
    if args.checks:
        for name, specs in processor.checks.items():
            for spec in specs:
                state = "" if spec.enabled else "  (off)"
                params = ", ".join(f"{k}={v:g}" for k, v in spec.params.items())
                print(f"{name}  {spec.name:24} {spec.kind:18} {spec.pattern:32} {params}{state}")
        return 0
    if args.run is None:
        raise OverwatchError("quality: give a run number (or --checks)")
    catalog = processor.ingester.catalog
    names = [args.subsystem] if args.subsystem else [s.name for s in catalog.run(args.run).subsystems]
    verdicts = [subsystem_quality(catalog, args.run, name) for name in names]
    if args.json:
        print(json.dumps([exports.quality_json(v) for v in verdicts], indent=2))
        return 0
    for v in verdicts:
        counts = ", ".join(f"{n} {q}" for q, n in v.counts.items() if n)
        ref = f"reference run {v.reference_run}" if v.reference_run is not None else "no reference run"
        print(f"Run {v.run_number} {v.subsystem} ({ref}): {v.quality} — {counts or 'no checks stored'}")
        for hist in v.problems:
            for result in (r for r in hist.results if r.quality in ("Bad", "Medium")):
                print(f"  {result.quality:6}  {hist.name}  {result.check}: {result.message}")
    return 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    """The catalog's schema revision, or its upgrade to the newest (every row kept)."""
    engine = make_engine(settings.catalog_url)
    try:
        if args.action == "upgrade":
            before, after = schema.upgrade(engine)
            print(f"catalog upgraded from {before or 'an empty database'} to revision {after}")
            return 0
        with engine.connect() as conn:
            revision = schema.current(conn)
        state = "up to date" if revision == schema.head() else "out of date: run `overwatch db upgrade`"
        print(f"catalog revision {revision or 'none (empty, or from before migrations)'}; {state}")
        return 0
    finally:
        engine.dispose()


Command = Callable[[Settings, argparse.Namespace], int]

#: Flags of `serve` that override the settings of the same name.
SERVE_FLAGS = ("host", "port", "workers")

#: One example per command, shown by `overwatch COMMAND --help` (a test checks every command has one).
EXAMPLES = {
    "demo-data": "overwatch demo-data --out /tmp/demo --runs 3",
    "ingest": "overwatch --data-folder /data/overwatch ingest",
    "rebuild": "overwatch rebuild --trending",
    "replay": "overwatch replay 300032 --source demo-data/live-source --cadence 20",
    "process": "overwatch process --watch",
    "slice": "overwatch slice 300003 EMC --from 5 --to 19 --checks --json",
    "trend": "overwatch trend EMC maxFastORL0 --runs 300000-300031 --json",
    "archive": "overwatch archive --out /tmp/testingDataArchive.zip",
    "users": "overwatch users add alice --role expert",
    "serve": "overwatch serve --host 0.0.0.0 --port 8080 --workers 4",
    "worker": "overwatch worker --concurrency 4",
    "demo": "overwatch --config config/demo.toml demo",
    "reference": "overwatch reference set EMC --run 300000 --from 300001 --user alice",
    "quality": "overwatch quality 300003 EMC --json",
    "db": "overwatch db upgrade",
    "files": "overwatch files 300003 EMC",
    "runs": "overwatch runs --page 2 --json",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="overwatch", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file (default: $OVERWATCH_CONFIG)")
    parser.add_argument("--data-folder", help="override the data_folder setting")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write realistic demo runs (EMC, HLT, TPC) as received files")
    p.add_argument("--out", help="folder to write into (default: the drop folder)")
    p.add_argument("--runs", type=int, default=10, help="number of runs (default 10)")
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default %(default)s)")
    p.add_argument("--live-source", help="also write one newer run here, timed from now, for `replay`")
    p.add_argument(
        "--live-files", type=int, default=30, help="files per subsystem of the live run (default 30)"
    )
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("ingest", help="move dropped files into run folders and record them (one pass)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("rebuild", help="recreate the catalog from the run folders on disk")
    p.add_argument("--trending", action="store_true", help="also recompute every trend value and alarm")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("replay", help="drip the files of one run into the drop folder, as a live run")
    p.add_argument("run", type=int, help="run number to replay")
    p.add_argument("--source", required=True, help="folder holding the run's received files")
    p.add_argument("--cadence", type=float, default=60.0, help="seconds between minutes of data (default 60)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("process", help="ingest new files, extract trends and evaluate alarms")
    p.add_argument(
        "--watch",
        action="store_true",
        help="repeat every process_period_seconds until stopped; while another process holds the lease, "
        "stand by and take over when it runs out",
    )
    p.set_defaults(func=cmd_process)

    p = sub.add_parser(
        "slice", help="print a time slice of a run's subsystem: groups, summaries, hot channels"
    )
    p.add_argument("run", type=int, help="run number")
    p.add_argument("subsystem", help="subsystem, e.g. EMC")
    p.add_argument(
        "--from", dest="from_minute", type=float, required=True, help="minutes since the first file"
    )
    p.add_argument("--to", dest="to_minute", type=float, required=True, help="minutes since the first file")
    p.add_argument("--threshold", type=int, default=0, help="hot-channel threshold 0-1000 (0: defaults)")
    p.add_argument("--no-scale", action="store_true", help="do not scale by the number of events")
    p.add_argument("--checks", action="store_true", help="also run the automatic checks on the slice")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_slice)

    p = sub.add_parser("trend", help="print a trend: within one run, or one value per run over a range")
    p.add_argument("subsystem", help="subsystem, e.g. EMC")
    p.add_argument("trend", help="trend name, e.g. meanFastORL0")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--run", type=int, help="run number (default: the newest)")
    group.add_argument("--runs", help="run range A-B: the value at the end of each run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_trend)

    p = sub.add_parser("archive", help="zip the newest complete runs as test data (as /testing-data-archive)")
    p.add_argument("--out", help=f"zip file to write (default: {ARCHIVE_NAME})")
    p.set_defaults(func=cmd_archive)

    add_users_parser(sub)

    p = sub.add_parser("serve", help="serve the dashboard with gunicorn (flags override the settings)")
    p.add_argument("--host", help="address to listen on (setting host)")
    p.add_argument("--port", type=int, help="port to listen on (setting port)")
    p.add_argument("--workers", type=int, help="gunicorn worker processes (setting workers)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a Celery worker for the dashboard's background callbacks")
    p.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="demo data, live replay, processing loop and dashboard, until Ctrl-C")
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default %(default)s)")
    p.add_argument("--live-files", type=int, default=60, help="minutes of data in the live run (default 60)")
    p.add_argument("--cadence", type=float, default=20.0, help="seconds between live minutes (default 20)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "reference",
        help="a subsystem's reference run: set (expert or admin), show or clear",
        epilog="example: overwatch reference set EMC --run 300000 --from 300001 --user alice",
    )
    p.add_argument("action", choices=["set", "show", "clear"])
    p.add_argument("subsystem", nargs="?", help="subsystem (all for show)")
    p.add_argument("--run", type=int, help="the reference run (set)")
    p.add_argument("--from", dest="valid_from", type=int, help="first run it is valid for (default: --run)")
    p.add_argument("--user", help="who sets it: an expert or admin of the catalog (set)")
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser(
        "quality",
        help="the check verdicts of a run (problems first), or --checks: the checks each subsystem runs",
        epilog="example: overwatch quality 300003 EMC",
    )
    p.add_argument("run", type=int, nargs="?", help="run number")
    p.add_argument("subsystem", nargs="?", help="only this subsystem")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--checks", action="store_true", help="list the configured checks instead")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser(
        "db",
        help="the catalog's schema: `current` shows its revision, `upgrade` migrates it (rows kept)",
        epilog="example: overwatch db upgrade",
    )
    p.add_argument("action", choices=["current", "upgrade"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser(
        "files",
        help="list a run's stored files: processing state, problems, objects not shown and why",
        epilog="example: overwatch files 300003 EMC",
    )
    p.add_argument("run", type=int, help="run number")
    p.add_argument("subsystem", nargs="?", help="only this subsystem (default: all)")
    p.set_defaults(func=cmd_files)

    p = sub.add_parser("runs", help="print a table of runs, newest first")
    p.add_argument("--page", type=int, default=1, help="page number (default 1)")
    p.add_argument("--per-page", type=int, default=50, help="runs per page (default 50)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_runs)
    for name, command in sub.choices.items():
        command.epilog = f"example: {EXAMPLES[name]}"
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides: dict[str, Any] = {"data_folder": args.data_folder} if args.data_folder else {}
        overrides.update({k: getattr(args, k) for k in SERVE_FLAGS if getattr(args, k, None) is not None})
        settings = load_settings(args.config, **overrides)
        configure_logging(settings, "DEBUG" if args.verbose else None)
        if not args.verbose:
            logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines on every connect
        func: Command = args.func
        return func(settings, args)
    except OverwatchError as exc:
        print(f"overwatch: {exc.category}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("overwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
