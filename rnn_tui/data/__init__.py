"""Data the app bundles: the demo corpora (package data, found with importlib.resources)."""
