"""Page registration: every page module has a path, a title and ``layout(**params)``."""

from __future__ import annotations

import dash

from dashboard.pages import not_found, quality, root_files, run_list, run_page, site_status, trending


def register_pages() -> None:
    """Register every page on the app being built (call after ``dash.Dash(...)``)."""
    dash.register_page(
        "run_list", path=run_list.PATH, title=run_list.title, layout=run_list.layout, name="Run list"
    )
    dash.register_page(
        "root_files", path_template=root_files.PATH, title=root_files.title, layout=root_files.layout
    )
    dash.register_page("run_page", path_template=run_page.PATH, title=run_page.title, layout=run_page.layout)
    dash.register_page("trending", path=trending.PATH, title=trending.title, layout=trending.layout)
    dash.register_page("quality", path=quality.PATH, title=quality.title, layout=quality.layout)
    dash.register_page(
        "run_quality", path_template=quality.RUN_PATH, title=quality.run_title, layout=quality.run_layout
    )
    dash.register_page(
        "site_status", path=site_status.PATH, title=site_status.title, layout=site_status.layout
    )
    dash.register_page("not_found_404", path="/404", title=not_found.title, layout=not_found.layout)
