"""The structure's rules that imports cannot hold: one writer per record, one source per fact.

Read from the source (``ast``), so a new writer fails here before it can race the scheduler."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import tarjama_server
from tarjama_client.v1 import tarjama_pb2 as pb
from tarjama_server.core import recipes
from tarjama_server.core.tickets import Ticket
from tarjama_server.transport import protobuf

PACKAGE = Path(tarjama_server.__file__).parent
TICKET_FIELDS = {field.name for field in dataclasses.fields(Ticket)}
# Calls that change a list in place.
MUTATORS = {"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse"}


def _written_attributes(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, object, attribute) of every assignment to an attribute, and every in-place
    change of an attribute's list (``x.jobs.clear()``, ``bisect.insort(x.jobs, ...)``)."""
    found: list[tuple[int, str, str]] = []

    def target(node: ast.expr) -> None:
        if isinstance(node, ast.Attribute):
            found.append((node.lineno, ast.unparse(node.value), node.attr))
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                target(element)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for each in node.targets:
                target(each)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            target(node.target)
        elif isinstance(node, ast.Call):
            function = node.func
            if (
                isinstance(function, ast.Attribute)
                and function.attr in MUTATORS
                and isinstance(function.value, ast.Attribute)
            ):
                found.append((node.lineno, ast.unparse(function.value.value), function.value.attr))
            if isinstance(function, ast.Attribute) and function.attr.startswith("insort") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Attribute):
                    found.append((node.lineno, ast.unparse(first.value), first.attr))
    return found


def _is_ticket(owner: str) -> bool:
    """Whether an expression names a ticket, as the code base names them: ``ticket``,
    ``job.ticket``, ``admitted.ticket``, ``tickets[seq]``..."""
    return "ticket" in owner.rsplit(".", 1)[-1].lower()


def test_only_the_scheduler_writes_a_tickets_fields() -> None:
    """Admission keeps its own record, the model worker returns an outcome, the pipelines
    and transports read: ``core/scheduler.py`` alone assigns to a ticket or changes its
    lists (``tickets.py`` defines it)."""
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() in ("core/scheduler.py", "core/tickets.py"):
            continue
        for line, owner, attribute in _written_attributes(ast.parse(path.read_text(), str(path))):
            if _is_ticket(owner) and attribute in TICKET_FIELDS:
                writers.append(f"{path.relative_to(PACKAGE)}:{line}: {owner}.{attribute}")
    assert writers == []
    # The scheduler does write them: the rule reads what it should.
    scheduler = ast.parse((PACKAGE / "core" / "scheduler.py").read_text())
    written = {attribute for _, owner, attribute in _written_attributes(scheduler) if _is_ticket(owner)}
    assert {"jobs", "done_tokens", "batch_seconds", "queue_seconds", "released", "closed"} <= written


def test_the_check_finds_a_write_to_a_ticket() -> None:
    """The rule above reads what it should: these writes are found."""
    source = "ticket.done_tokens += 1\njob.ticket.batch_seconds = 2.0\nticket.jobs.clear()\nbisect.insort(t.jobs, j)\n"
    found = [(owner, attribute) for _, owner, attribute in _written_attributes(ast.parse(source))]
    assert found == [("ticket", "done_tokens"), ("job.ticket", "batch_seconds"), ("ticket", "jobs"), ("t", "jobs")]


def test_summary_style_names_come_from_the_recipes_and_the_enum_alone() -> None:
    """The SummaryStyle enum and ``recipes.STYLES`` name the same styles (the wire's table is
    derived, not written out), and ServerInfo offers them in the recipes' order."""
    assert set(protobuf.STYLES.values()) == {"", *recipes.STYLES}
    assert protobuf.STYLES[pb.SUMMARY_STYLE_UNSPECIFIED] == ""
    assert recipes.DEFAULT_STYLE in recipes.STYLES
