"""Shared pytest setup: headless matplotlib for library tests."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
