"""Every Python example in the README, and every `tarjama` command line, runs against a test server."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from tarjama_client.cli import main

from .helpers import SEED_ARTICLE

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_EXAMPLES = re.findall(r"```python\n(.*?)```", README, re.S)
COMMAND_LINES = [
    line.split("  #")[0].strip()
    for block in re.findall(r"```bash\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if line.startswith(("tarjama ", "tarjama-eval "))
]


# The JSON API's examples: (command, the HTTP status its comment promises; 200 when it says none).
CURL_LINES = [
    (line.split("   #")[0].strip(), int(re.search(r"# → (\d{3})", line)[1]) if "# → " in line else 200)
    for block in re.findall(r"```bash\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if "curl -s localhost:8080" in line
]


def test_readme_has_examples() -> None:
    assert len(PYTHON_EXAMPLES) >= 2 and len(COMMAND_LINES) >= 5 and len(CURL_LINES) >= 5


@pytest.mark.parametrize(("line", "status"), CURL_LINES)
def test_curl_example_runs(line: str, status: int, http_server) -> None:
    import json
    import shutil
    import subprocess

    if not shutil.which("curl"):
        pytest.skip("curl not installed")
    host = http_server.http_url.removeprefix("http://").rstrip("/")
    command = line.replace("localhost:8080", host) + " -w '\\n%{http_code}'"
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    body, _, code = result.stdout.rpartition("\n")
    assert int(code) == status, body
    answer = json.loads(body)
    assert ("code" in answer) == (status >= 400), answer  # a Connect error body exactly when it failed


@pytest.mark.parametrize("example", PYTHON_EXAMPLES, ids=lambda code: code.splitlines()[-1][:40])
def test_python_example_runs(example: str, server, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)  # examples read seeds/ relative to the checkout
    exec(compile(example.replace("localhost:50051", server.address), "README.md", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("line", COMMAND_LINES)
def test_command_line_runs(line: str, server, monkeypatch, capsys, tmp_path) -> None:
    import io
    import shutil

    from tarjama_client.cli import eval_main

    # The files the examples name.
    article = SEED_ARTICLE.read_bytes()
    (tmp_path / "article.txt").write_bytes(article)
    (tmp_path / "old.txt").write_bytes(SEED_ARTICLE.read_text(encoding="utf-8").encode("cp1256"))
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    (tmp_path / "my-sources.txt").write_text("جملة أولى.\nجملة ثانية.\n", encoding="utf-8")
    (tmp_path / "my-references.txt").write_text("A first sentence.\nA second sentence.\n", encoding="utf-8")
    (tmp_path / "body.html").write_text("<p>حلب تحت سيطرة <b>النظام</b></p>", encoding="utf-8")
    (tmp_path / "names.tsv").write_text("الأونروا\tUNRWA\nحلب\tAleppo\n", encoding="utf-8")
    (tmp_path / "archive.jsonl").write_text('{"id": 1, "text": "حلب تحت سيطرة النظام"}\n', encoding="utf-8")
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_bytes(article)
    monkeypatch.chdir(tmp_path)
    command, _, stdin_file = line.replace("host:50051", server.address).partition(" < ")
    if stdin_file:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((tmp_path / stdin_file.strip()).read_bytes())))
    program, *argv = shlex.split(command)
    run = eval_main if program == "tarjama-eval" else lambda args: main(["--server", server.address, *args])
    if program == "tarjama-eval" and "--server" not in argv:
        argv += ["--server", server.address]
    assert run(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip()
