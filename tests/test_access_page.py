"""The page with an API key: it asks for the key as it asks for the token, and shows the key's
usage (GetUsage) once the key is in and after a translation. A real chromium (skipped without it)."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tarjama_server import keys_cli

from .helpers import ServerThread, free_port, tiny_settings
from .test_page import browser, expect, open_page

__all__ = ["browser"]  # the browser fixture, shared with test_page.py


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser) as opened:
        yield opened


def test_the_page_asks_for_a_key_and_shows_its_usage(page: Any, models_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tarjama.db'}"
    out = io.StringIO()
    arguments = ["--database-url", url, "create", "--name", "desk-page", "--scopes", "translate"]
    # On its own thread: Playwright's sync API holds an event loop on this one.
    with contextlib.redirect_stdout(out), ThreadPoolExecutor(1) as thread:
        assert thread.submit(keys_cli.main, [*arguments, "--characters-per-day", "5000"]).result() == 0
    key = out.getvalue().strip()
    settings = tiny_settings(models_dir, summarization_model="none", http_port=free_port(), database_url=url)
    with ServerThread(settings).start() as running:
        page.goto(running.http_url)
        expect(page.get_by_test_id("token-form")).to_be_visible()  # a key exists: the server answered 401
        page.get_by_test_id("token").fill(key)
        page.get_by_test_id("token").press("Enter")
        expect(page.get_by_test_id("token-form")).to_be_hidden()
        usage = page.get_by_test_id("usage")
        expect(usage).to_contain_text(re.compile(r"Key “desk-page”: 0 of 5,000 characters and [1-9]\d* requests today"))
        page.get_by_test_id("source").fill("حلب.")
        page.get_by_test_id("translate").click()
        expect(usage).to_contain_text(re.compile(r"4 of 5,000 characters and [2-9]\d* requests today"))
