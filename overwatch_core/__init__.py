"""Overwatch core: settings, file names, ingest, catalog, histograms and demo data (no web code)."""

__version__ = "0.1.0"
