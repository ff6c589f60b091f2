"""The `overwatch` command line: demo data, ingest, rebuild, replay and the run table."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from overwatch_core import demo, filenames
from overwatch_core.catalog import Catalog, RunPage
from overwatch_core.errors import OverwatchError
from overwatch_core.histograms import HistogramCache
from overwatch_core.ingest import Ingester, rebuild
from overwatch_core.settings import Settings, load_settings

log = logging.getLogger("overwatch")


def _ingester(settings: Settings) -> Ingester:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    cache = HistogramCache(
        max_bytes=settings.histogram_cache_mb * 2**20,
        disk_directory=settings.cache_path / "histograms",
        disk_size_limit=settings.histogram_disk_cache_mb * 2**20,
    )
    return Ingester(settings, catalog, cache)


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else settings.drop_path
    started = time.perf_counter()
    summary = demo.generate_demo_data(
        out, seed=args.seed, n_runs=args.runs, tz=filenames.zone(settings.timezone)
    )
    print(
        f"wrote {summary.total_files} files for {len(summary.runs)} runs into {out} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    print(f"hot FastOR IDs {list(summary.hot_channel_ids)} appear from minute {summary.hot_channel_minute}")
    if args.live_source:
        live = demo.generate_live_run(
            Path(args.live_source),
            seed=args.seed,
            tz=filenames.zone(settings.timezone),
            run_number=summary.next_run_number,
        )
        print(
            f"wrote live run {live.run_number} ({live.total_files} files) into {args.live_source} for replay"
        )
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    report = _ingester(settings).run_pass()
    for name, reason in report.quarantined:
        print(f"quarantined {name}: {reason}", file=sys.stderr)
    print(f"ingest: {report.summary()}")
    return 0


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    count = rebuild(_ingester(settings))
    print(f"rebuilt the catalog from {count} files in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    def on_file(name: str) -> None:
        print(f"replayed {name}", flush=True)

    copied = demo.replay_run(
        Path(args.source), settings.drop_path, args.run, cadence_seconds=args.cadence, on_file=on_file
    )
    print(f"replay of run {args.run} finished: {copied} files")
    return 0


def format_run_table(page: RunPage, tz_name: str) -> str:
    """A plain-text table of one page of runs."""
    lines = [f"{'run':>8}  {'mode':4}  {'start (' + tz_name + ')':28}  subsystems (files)"]
    for run in page.runs:
        start = run.start.strftime("%a %d %b %Y %H:%M:%S") if run.start else "-"
        subs = ", ".join(
            f"{name} ({count}{'' if run.file_locations[name] == name else ' via ' + run.file_locations[name]})"
            for name, count in run.file_counts.items()
        )
        lines.append(f"{run.run_number:>8}  {run.hlt_mode:4}  {start:28}  {subs}")
    lines.append(
        f"Showing runs {page.first_index}–{page.last_index} of {page.total} (page {page.page}/{page.pages})"
    )
    return "\n".join(lines)


def cmd_runs(settings: Settings, args: argparse.Namespace) -> int:
    catalog = Catalog.connect(settings.catalog_url, filenames.zone(settings.timezone))
    page = catalog.runs_page(args.page, args.per_page)
    print(format_run_table(page, settings.timezone))
    ongoing = catalog.ongoing_run(datetime.now(filenames.zone(settings.timezone)), settings.ongoing_minutes)
    if ongoing is not None:
        print(f"Run {ongoing} is ongoing.")
    return 0


Command = Callable[[Settings, argparse.Namespace], int]


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
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("ingest", help="move dropped files into run folders and record them (one pass)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("rebuild", help="recreate the catalog from the run folders on disk")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("replay", help="drip the files of one run into the drop folder, as a live run")
    p.add_argument("run", type=int, help="run number to replay")
    p.add_argument("--source", required=True, help="folder holding the run's received files")
    p.add_argument("--cadence", type=float, default=60.0, help="seconds between minutes of data (default 60)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("runs", help="print a table of runs, newest first")
    p.add_argument("--page", type=int, default=1, help="page number (default 1)")
    p.add_argument("--per-page", type=int, default=50, help="runs per page (default 50)")
    p.set_defaults(func=cmd_runs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {"data_folder": args.data_folder} if args.data_folder else {}
        settings = load_settings(args.config, **overrides)
        logging.basicConfig(
            level="DEBUG" if args.verbose else settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
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
