"""Shared pytest setup: headless matplotlib for library tests, one browser per test process."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

# the session-scoped `browser` fixture (headless Chromium; skips when it is absent),
# registered once here so that one test process never starts two browsers
from browser import browser_fixture  # noqa: F401
