"""Dashboard server time: run list with 10,000 runs, EMC run page cold and warm, figure JSON bytes per page.

Figure JSON bytes (issue 10's budget: the largest EMC group ≤ 600 kB, the HLT page ≤ 1 MB) are measured on
the 40-minute demo run and on the original's layout (realistic_data.py: 300 EMC histograms, 3.8 M bins;
50 HLT objects), summed over every plot of a group as the group draws it, whether sent with the page or
fetched as it scrolls into view. ``--sizes`` measures only these.

Two ways are timed: the page's ``layout()`` called in a request context, and the whole request the
browser makes for the page content (Dash's pages callback through the Flask test client: login gate,
CSRF check, layout, JSON response), which is the server time a shifter waits for.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable

import dash
from bench_catalog import fill
from common import BENCH_RUN, ingested_run, median_ms, settings_for, timed, workdir
from flask.testing import FlaskClient
from realistic_data import RUN as REALISTIC_RUN
from realistic_data import write_run

from dashboard import figures
from dashboard.factory import create_app
from dashboard.pages import run_list, run_page
from dashboard.services import services
from overwatch_core.catalog import Catalog
from overwatch_core.filenames import zone
from overwatch_core.processing import Processor, open_services
from overwatch_core.settings import Settings
from overwatch_core.users import UserStore

USER, PASSWORD = "bench", "bench-password"
PAGES_OUTPUT = ".._pages_content.children..._pages_store.data.."


def build_app(settings: Settings) -> dash.Dash:
    dash._pages.PAGE_REGISTRY.clear()
    return create_app(settings)


def add_user(settings: Settings) -> None:
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    UserStore(catalog, rounds=4).add(USER, PASSWORD, "shifter")
    catalog.close()


def logged_in(app: dash.Dash) -> FlaskClient:
    client = app.server.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {"username": USER, "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=data).status_code == 302
    return client


def page_body(path: str, search: str = "") -> dict[str, object]:
    """The body of the POST the browser sends for a page's content (Dash's pages callback)."""
    return {
        "output": PAGES_OUTPUT,
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }


def page_request(client: FlaskClient, path: str, search: str = "") -> Callable[[], int]:
    """The POST the browser sends for a page's content; returns the response size in bytes."""
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None
    body = page_body(path, search)

    def fetch() -> int:
        response = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": cookie.value})
        assert response.status_code == 200, response.status_code
        return len(response.data)

    return fetch


# -- run list ---------------------------------------------------------------------------------------------


def bench_run_list() -> None:
    settings = settings_for(workdir() / "data")
    settings.data_path.mkdir(parents=True)
    catalog = Catalog.connect(settings.catalog_url, zone(settings.timezone))
    fill(catalog)  # 10,000 runs x 3 subsystems x 30 files = 900,000 file rows
    catalog.close()
    add_user(settings)
    app = build_app(settings)
    with app.server.test_request_context("/"):
        print("run list, 10,000 runs / 900,000 files:")
        print("  layout() page 1:", median_ms(timed(run_list.layout, 31)))
        print("  layout() page 150:", median_ms(timed(lambda: run_list.layout(page="150"), 31)))
        print("  run_table(1) alone:", median_ms(timed(lambda: run_list.run_table(1), 31)))
    fetch = page_request(logged_in(app), "/")
    print(f"  whole page request (callback, {fetch() / 1e3:.0f} kB JSON):", median_ms(timed(fetch, 31)))


# -- run page ---------------------------------------------------------------------------------------------


def figure_sizes(app: dash.Dash, run: int, subsystem: str) -> dict[str, list[tuple[str, int, bool]]]:
    """Figure JSON bytes of every histogram, by group, each drawn as its group draws it (grids compact)."""
    with app.server.test_request_context("/"):
        view = services().views.full_run(run, subsystem)
        return {
            g.name: [
                (h.name, figures.figure_json_bytes(figures.figure(h, compact=g.grid)), g.grid)
                for h in g.histograms
            ]
            for g in view.groups
        }


def report_sizes(sizes: dict[str, list[tuple[str, int, bool]]], subsystem: str) -> str:
    """Print bytes per group, largest first, and the largest single figures; return the largest group."""
    per_group = {name: sum(size for _, size, _ in hists) for name, hists in sizes.items()}
    print(f"figure JSON bytes per {subsystem} group (sum of figure_json_bytes over the group's histograms):")
    for name, total in sorted(per_group.items(), key=lambda item: -item[1]):
        hists = sizes[name]
        grid = " (grid, compact)" if hists[0][2] else ""
        print(f"  {name}: {total / 1e3:.0f} kB, {len(hists)} histograms{grid}")
    largest = max(per_group, key=lambda name: per_group[name])
    print(f"  all groups: {sum(per_group.values()) / 1e6:.2f} MB; largest: {largest!r}")
    single = sorted((size, name) for hists in sizes.values() for name, size, _ in hists)[-3:]
    print("  largest figures:", ", ".join(f"{name} {size / 1e3:.0f} kB" for size, name in reversed(single)))
    return largest


def realistic_run(n_files: int = 30) -> Settings:
    """The original's layout (realistic_data.py), ``n_files`` minutes, ingested and trended."""
    data = workdir() / "data"
    write_run(data, n_files=n_files)
    settings = settings_for(data)
    Processor(settings, *open_services(settings)).run_pass()
    return settings


def bench_sizes() -> None:
    for label, settings, run in (
        (f"demo run {BENCH_RUN} (40 files)", ingested_run(n_files=40), BENCH_RUN),
        (f"realistic layout, run {REALISTIC_RUN} (30 files)", realistic_run(30), REALISTIC_RUN),
    ):
        print(f"== {label}")
        app = build_app(settings)
        for subsystem in ("EMC", "HLT"):
            report_sizes(figure_sizes(app, run, subsystem), subsystem)


def clear(settings: Settings, *parts: str) -> None:
    for part in parts:
        shutil.rmtree(settings.cache_path / part, ignore_errors=True)


#: What each "new app" case empties before building the app (a new app is a new worker: its in-memory
#: decoded-histogram cache is empty in every case).
NEW_APP_CASES = {
    "cold: histogram disk cache and view cache empty (decodes the newest EMC file)": ("decoded", "views"),
    "after ingest: decoded arrays on disk as ingest leaves them, view cache empty": ("views",),
    "view cache on disk (another worker drew this subsystem before)": (),
}


def bench_run_page() -> None:
    settings = ingested_run(n_files=40)
    add_user(settings)
    largest = report_sizes(figure_sizes(build_app(settings), BENCH_RUN, "EMC"), "EMC")
    path, search = f"/runs/{BENCH_RUN}/EMC", f"?group={largest.replace(' ', '+')}"
    params = {"run": str(BENCH_RUN), "subsystem": "EMC", "group": largest}
    print(f"run page {path}{search} (the largest EMC group), new app each time:")

    def new_app_times(caches: tuple[str, ...], whole_request: bool) -> list[float]:
        state: dict[str, Callable[[], object]] = {}

        def setup() -> None:
            clear(settings, *caches)
            app = build_app(settings)
            if whole_request:
                state["run"] = page_request(logged_in(app), path, search)
            else:
                state["run"] = lambda: _layout_in(app, path + search, params)

        return timed(lambda: state["run"](), 7, setup)

    for label, caches in NEW_APP_CASES.items():
        print(f"  {label}:")
        print("    layout():", median_ms(new_app_times(caches, whole_request=False)))
        print("    whole page request:", median_ms(new_app_times(caches, whole_request=True)))
    app = build_app(settings)
    print("  warm (same app, repeated):")
    print("    layout():", median_ms(timed(lambda: _layout_in(app, path + search, params), 21)))
    fetch = page_request(logged_in(app), path, search)
    size = fetch()
    print(f"    whole page request ({size / 1e3:.0f} kB JSON response):", median_ms(timed(fetch, 21)))


def _layout_in(app: dash.Dash, url: str, params: dict[str, str]) -> object:
    with app.server.test_request_context(url):
        return run_page.layout(**params)


def main() -> None:
    if "--sizes" in sys.argv:
        bench_sizes()
        return
    bench_run_list()
    bench_run_page()
    bench_sizes()


if __name__ == "__main__":
    main()
