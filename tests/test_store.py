"""The desk's store and its core (``core.desk``) on a real database: every test runs on SQLite and
on PostgreSQL (a throwaway cluster, tests/postgres.py; skipped with the reason where there is none)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from tarjama_server.core.desk import Desk, DeskLimits, GlossaryInput, memory_key
from tarjama_server.errors import InvalidRequestError, NotFoundError
from tarjama_server.store import database_url as store_url
from tarjama_server.store import open_store
from tarjama_server.store.schema import audit_log

from .helpers import WAIT_SECONDS

SENTENCE = "قال المتحدث باسم الوزارة إن الاجتماع سيعقد غدا في العاصمة."
EDITED = "قال المتحدث باسم الوزارة إن الاجتماع سيعقد بعد غد في العاصمة."
OTHER = "ارتفعت أسعار النفط في الأسواق العالمية اليوم."


def _url(database_url: str) -> str:
    url = store_url(database_url, Path("."))
    assert url is not None
    return url


@pytest_asyncio.fixture(loop_scope="function")
async def desk(database_url: str) -> AsyncIterator[Desk]:
    store = await open_store(_url(database_url))
    try:
        yield Desk(store)
    finally:
        await store.close()


def tmx(*units: str, doctype: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + '<tmx version="1.4"><header srclang="ar" '
        'creationtool="test" creationtoolversion="1" datatype="plaintext" segtype="sentence" adminlang="en" '
        'o-tmf="test"/><body>' + "".join(units) + "</body></tmx>"
    ).encode()


def unit(source: str, translation: str, tuid: str = "") -> str:
    attribute = f' tuid="{tuid}"' if tuid else ""
    return (
        f'<tu{attribute}><tuv xml:lang="ar-SA"><seg>{source}</seg></tuv>'
        f'<tuv xml:lang="EN"><seg>{translation}</seg></tuv></tu>'
    )


async def test_glossaries_are_created_listed_read_updated_and_deleted(desk: Desk) -> None:
    created = await desk.create_glossary(
        GlossaryInput(name="Agencies", entries={"الأونروا": "UNRWA", "اليونيسف": "UNICEF"})
    )
    assert (created.entry_count, created.source_language, created.target_language) == (2, "ar", "en")
    listed = await desk.list_glossaries()
    assert [(g.id, g.name, g.entry_count, g.entries) for g in listed] == [(created.id, "Agencies", 2, None)]
    assert (await desk.get_glossary(created.id)).entries == {"الأونروا": "UNRWA", "اليونيسف": "UNICEF"}

    renamed = await desk.update_glossary(created.id, GlossaryInput(name="UN agencies"), replace_entries=False)
    assert renamed.name == "UN agencies" and renamed.entries == {"الأونروا": "UNRWA", "اليونيسف": "UNICEF"}
    assert renamed.updated >= created.updated
    replaced = await desk.update_glossary(
        created.id, GlossaryInput(entries={"منظمة الصحة العالمية": "WHO"}), replace_entries=True
    )
    assert replaced.entries == {"منظمة الصحة العالمية": "WHO"} and replaced.entry_count == 1

    await desk.delete_glossary(created.id)
    assert await desk.list_glossaries() == []
    for call in (desk.get_glossary(created.id), desk.delete_glossary(created.id)):
        with pytest.raises(NotFoundError, match="no glossary with id"):
            await call


async def test_glossary_files_tsv_csv_and_tbx(desk: Desk) -> None:
    tsv = "source\ttarget\nالأونروا\tUNRWA\n# a comment\n\nاليونيسف\tUNICEF\n".encode()
    csv = '\ufeffالأونروا,UNRWA\n"حماس, الحركة",Hamas\n'.encode()
    tbx = """<?xml version="1.0"?><martif type="TBX" xml:lang="en"><text><body>
      <termEntry id="c1"><langSet xml:lang="ar"><tig><term>الأونروا</term></tig></langSet>
        <langSet xml:lang="en"><tig><term>UNRWA</term></tig></langSet></termEntry>
      <termEntry><langSet xml:lang="ar"><ntig><termGrp><term>اليونيسف</term></termGrp></ntig></langSet>
        <langSet xml:lang="en"><tig><term>UNICEF</term></tig></langSet></termEntry>
    </body></text></martif>""".encode()
    expected = {
        "text/tab-separated-values": {"الأونروا": "UNRWA", "اليونيسف": "UNICEF"},
        "text/csv; charset=utf-8": {"الأونروا": "UNRWA", "حماس, الحركة": "Hamas"},
        "application/x-tbx": {"الأونروا": "UNRWA", "اليونيسف": "UNICEF"},
    }
    for (media_type, entries), data in zip(expected.items(), (tsv, csv, tbx), strict=True):
        created = await desk.create_glossary(GlossaryInput(name=media_type, file=data, file_media_type=media_type))
        assert (await desk.get_glossary(created.id)).entries == entries, media_type


@pytest.mark.parametrize(
    ("data", "media_type", "message"),
    [
        ("الأونروا\tUNRWA\nاليونيسف\n".encode(), "text/tab-separated-values", "line 2: 1 columns"),
        ("الأونروا\tUNRWA\nالأونروا\tAgency\n".encode(), "text/tab-separated-values", "line 2: 'الأونروا' was already"),
        (b"a,b\n\xff,c\n", "text/csv", "not UTF-8 text \\(line 2\\)"),
        (b"a\tb", "application/pdf", "is not a glossary format"),
        (b"<martif><text><body><termEntry/>", "application/x-tbx", "not well-formed XML at line 1"),
    ],
)
async def test_a_bad_glossary_file_is_refused_naming_where(
    desk: Desk, data: bytes, media_type: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await desk.create_glossary(GlossaryInput(name="bad", file=data, file_media_type=media_type))
    assert await desk.list_glossaries() == []


async def test_glossary_bounds(desk: Desk) -> None:
    small = Desk(desk.store, DeskLimits(max_glossary_entries=2, max_glossary_file_bytes=100))
    with pytest.raises(InvalidRequestError, match="over the limit of 2 \\(max_glossary_entries\\)"):
        await small.create_glossary(GlossaryInput(name="big", entries={f"كلمة{i}": f"w{i}" for i in range(3)}))
    with pytest.raises(InvalidRequestError, match="over the limit of 100 \\(max_glossary_file_bytes\\)"):
        await small.create_glossary(
            GlossaryInput(name="big", file=b"a\tb\n" * 30, file_media_type="text/tab-separated-values")
        )
    with pytest.raises(InvalidRequestError, match="at most 200 characters a side"):
        await desk.create_glossary(GlossaryInput(name="long", entries={"ا" * 201: "x"}))
    with pytest.raises(InvalidRequestError, match="the glossary's name is empty"):
        await desk.create_glossary(GlossaryInput(name=" ", entries={"ا": "x"}))
    assert await desk.list_glossaries() == []


async def test_an_approval_is_kept_by_its_normalized_source_and_updated_in_place(desk: Desk) -> None:
    saved = await desk.save_translation(
        memory="", source=SENTENCE, translation="The ministry's spokesman said the meeting is tomorrow.",
        note="checked", approver="mona",
    )  # fmt: skip
    assert (saved.memory, saved.approver, saved.note, saved.key) == ("default", "mona", "checked", SENTENCE)
    # Tatweel, a zero-width joiner and doubled spaces: the same source as the model reads it.
    variant = SENTENCE.replace("المتحدث", "المتـحدث\u200d").replace(" ", "  ", 1)
    assert memory_key(variant) == memory_key(SENTENCE)
    again = await desk.save_translation(memory="default", source=variant, translation="Second approval.")
    assert again.id == saved.id and again.translation == "Second approval." and again.updated >= saved.updated
    found = await desk.matches("default", "ar", "en", [memory_key(SENTENCE), memory_key(OTHER)], 0.75)
    assert list(found) == [memory_key(SENTENCE)]
    assert found[memory_key(SENTENCE)].similarity == 1.0
    assert found[memory_key(SENTENCE)].entry.translation == "Second approval."
    # Another memory, or another language pair, is another entry.
    elsewhere = await desk.save_translation(memory="sports", source=SENTENCE, translation="x")
    assert elsewhere.id != saved.id
    assert {m.name: m.entry_count for m in await desk.list_memories()} == {"default": 1, "sports": 1}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"source": " ", "translation": "x"}, "source is empty"),
        ({"source": SENTENCE, "translation": ""}, "translation is empty"),
        ({"source": "ا" * 5001, "translation": "x"}, "source has 5001 characters, over the desk's limit of 5000"),
        ({"source": "نص\x00", "translation": "x"}, "control character U\\+0000"),
        ({"source": "\u200d\u0640", "translation": "x"}, "only invisible characters"),
        ({"source": SENTENCE, "translation": "x", "source_language": "english"}, "is not a language code"),
        ({"source": SENTENCE, "translation": "x", "memory": "m" * 101}, "at most 100 characters"),
    ],
)
async def test_bad_approvals_are_refused(desk: Desk, fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        await desk.save_translation(**{"memory": "", **fields})
    assert await desk.list_memories() == []


async def test_search_finds_near_matches_through_the_index_best_first(desk: Desk) -> None:
    for source, translation in ((SENTENCE, "Meeting tomorrow."), (OTHER, "Oil prices rose.")):
        await desk.save_translation(memory="", source=source, translation=translation)
    matches = await desk.search(memory="", text=EDITED)
    assert [m.entry.translation for m in matches] == ["Meeting tomorrow."]
    assert 0.75 <= matches[0].similarity < 1
    exact = await desk.search(memory="", text=SENTENCE, min_similarity=0.1)
    assert exact[0].similarity == 1.0 and exact[0].entry.translation == "Meeting tomorrow."
    assert await desk.search(memory="", text="كلمات لا علاقة لها بأي شيء مخزن هنا أبدا") == []
    assert await desk.search(memory="other", text=SENTENCE) == []
    with pytest.raises(InvalidRequestError, match="min_similarity must be between 0 and 1"):
        await desk.search(memory="", text=SENTENCE, min_similarity=1.5)
    with pytest.raises(InvalidRequestError, match="limit must be 0"):
        await desk.search(memory="", text=SENTENCE, limit=51)


async def test_the_similarity_search_uses_the_index(desk: Desk) -> None:
    store = desk.store
    async with store.engine.connect() as connection:  # type: ignore[attr-defined]
        if store.kind == "sqlite":
            plan = await connection.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM memory_fts WHERE memory_fts MATCH '\"abc\"'")
            )
            assert "VIRTUAL TABLE INDEX" in " ".join(str(row[-1]) for row in plan)
        else:
            indexes = await connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = 'memory_entries'")
            )
            assert any("gin_trgm_ops" in row[0] for row in indexes)
            await connection.execute(text("SET enable_seqscan = off"))
            plan = await connection.execute(text("EXPLAIN SELECT id FROM memory_entries WHERE source_key % 'abcdef'"))
            assert "ix_memory_entries_trgm" in " ".join(row[0] for row in plan)


async def test_delete_memory_entry(desk: Desk) -> None:
    saved = await desk.save_translation(memory="", source=SENTENCE, translation="x")
    await desk.delete_memory_entry(saved.id)
    assert await desk.search(memory="", text=SENTENCE) == []
    with pytest.raises(NotFoundError, match=f"no memory entry with id {saved.id}"):
        await desk.delete_memory_entry(saved.id)


async def test_tmx_export_imports_into_a_fresh_store(desk: Desk, tmp_path: Path) -> None:
    await desk.save_translation(memory="", source=SENTENCE, translation="A & B <i>", note="n1", approver="mona")
    await desk.save_translation(memory="", source=OTHER, translation="Oil rose.")
    chunks = [chunk async for chunk in desk.export_memory("", chunk_entries=1)]
    assert len(chunks) == 3  # the header with the first unit, the second unit, the footer
    document = b"".join(chunks)
    fresh_store = await open_store(_url(f"sqlite:///{tmp_path / 'fresh.db'}"))
    try:
        fresh = Desk(fresh_store)
        assert await fresh.import_memory(memory="copy", tmx=document) == (2, 2)
        found = await fresh.matches("copy", "ar", "en", [memory_key(SENTENCE), memory_key(OTHER)], 0.75)
        assert {m.entry.source: (m.entry.translation, m.entry.note, m.entry.approver) for m in found.values()} == {
            SENTENCE: ("A & B <i>", "n1", "mona"),
            OTHER: ("Oil rose.", "", ""),
        }
    finally:
        await fresh_store.close()


async def test_tmx_import_reads_inline_markup_as_text_and_updates_existing_entries(desk: Desk) -> None:
    await desk.save_translation(memory="", source=SENTENCE, translation="old")
    document = tmx(
        unit(SENTENCE, 'The <bpt i="1">&lt;b&gt;</bpt>meeting<ept i="1">&lt;/b&gt;</ept> is <hi>tomorrow</hi>.'),
        unit(OTHER, "first"),
        unit(OTHER, "last wins"),
    )
    assert await desk.import_memory(memory="", tmx=document) == (3, 2)
    found = await desk.matches("default", "ar", "en", [memory_key(SENTENCE), memory_key(OTHER)], 0.75)
    assert found[memory_key(SENTENCE)].entry.translation == "The meeting is tomorrow."
    assert found[memory_key(OTHER)].entry.translation == "last wins"


BILLION_LAUGHS = (
    '<!DOCTYPE tmx [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
)
EXTERNAL = '<!DOCTYPE tmx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (tmx(unit(SENTENCE, "ok"), unit(OTHER, "ok"), '<tu tuid="t3"><tuv xml:lang="ar"><seg>نص</seg></tuv></tu>'),
         "tu 3 \\(tuid 't3'\\): no 'en' segment"),
        (tmx(unit(SENTENCE, "ok"), unit(OTHER, "   ")), "tu 2: no 'en' segment with text"),
        (tmx(unit(SENTENCE, "ok"))[:-20], "not well-formed XML at line 2"),
        (tmx(unit("&lol3;", "x"), doctype=BILLION_LAUGHS), "declares entities .*entity declarations are refused"),
        (tmx(unit("&secret;", "x"), doctype=EXTERNAL), "declares entities"),
        (b"<html><body/></html>", "root element is <html>, not <tmx>"),
        (tmx(), "holds no <tu>"),
        (tmx(unit("ا" * 5001, "x")), "tu 1: the 'ar' segment has 5001 characters"),
    ],
)  # fmt: skip
async def test_a_bad_tmx_changes_nothing_and_says_where(desk: Desk, document: bytes, message: str) -> None:
    await desk.save_translation(memory="", source=SENTENCE, translation="before")
    with pytest.raises(InvalidRequestError, match=message):
        await desk.import_memory(memory="", tmx=document)
    assert {m.name: m.entry_count for m in await desk.list_memories()} == {"default": 1}
    found = await desk.matches("default", "ar", "en", [memory_key(SENTENCE)], 0.75)
    assert found[memory_key(SENTENCE)].entry.translation == "before"


async def test_tmx_bounds_name_the_limit(desk: Desk) -> None:
    small = Desk(desk.store, DeskLimits(max_tmx_bytes=2000, max_tmx_units=2))
    with pytest.raises(InvalidRequestError, match="over the limit of 2000 \\(max_tmx_bytes\\)"):
        await small.import_memory(memory="", tmx=tmx(*(unit(SENTENCE, "x" * 100) for _ in range(20))))
    with pytest.raises(InvalidRequestError, match="more than 2 units \\(max_tmx_units\\), at tu 3"):
        await small.import_memory(memory="", tmx=tmx(unit(SENTENCE, "a"), unit(OTHER, "b"), unit(EDITED, "c")))
    with pytest.raises(InvalidRequestError, match="tmx is empty"):
        await small.import_memory(memory="", tmx=b"")
    assert await desk.list_memories() == []


async def test_two_stores_on_one_database_see_each_others_approvals_at_once(database_url: str) -> None:
    first, second = await open_store(_url(database_url)), await open_store(_url(database_url))
    try:
        one, two = Desk(first), Desk(second)
        await one.save_translation(memory="", source=SENTENCE, translation="from one")
        found = await two.matches("default", "ar", "en", [memory_key(SENTENCE)], 0.75)
        assert found[memory_key(SENTENCE)].entry.translation == "from one"
        await two.save_translation(memory="", source=SENTENCE, translation="from two")
        found = await one.matches("default", "ar", "en", [memory_key(SENTENCE)], 0.75)
        assert found[memory_key(SENTENCE)].entry.translation == "from two"
    finally:
        await first.close()
        await second.close()


async def test_every_write_records_an_audit_row_in_its_transaction(desk: Desk) -> None:
    glossary = await desk.create_glossary(GlossaryInput(name="g", entries={"ا": "a"}))
    await desk.update_glossary(glossary.id, GlossaryInput(name="h"), replace_entries=False)
    saved = await desk.save_translation(memory="", source=SENTENCE, translation="x")
    await desk.import_memory(memory="", tmx=tmx(unit(OTHER, "y")))
    await desk.delete_memory_entry(saved.id)
    await desk.delete_glossary(glossary.id)
    with pytest.raises(InvalidRequestError):
        await desk.import_memory(memory="", tmx=tmx(unit(OTHER, "")))
    with pytest.raises(NotFoundError):
        await desk.delete_glossary(glossary.id)  # refused writes leave no row
    async with desk.store.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = (
            await connection.execute(select(audit_log.c.action, audit_log.c.subject).order_by(audit_log.c.id))
        ).all()
    assert [action for action, _ in rows] == [
        "glossary.create", "glossary.update", "memory.save", "memory.import", "memory.delete", "glossary.delete",
    ]  # fmt: skip
    assert rows[0][1] == glossary.id and rows[4][1] == str(saved.id)


def test_database_url_setting() -> None:
    assert store_url("none", Path("/d")) is None
    assert store_url("", Path("/data")) == "sqlite+aiosqlite:////data/tarjama.db"
    assert store_url("postgresql://u:p@h:5/db", Path(".")) == "postgresql+asyncpg://u:p@h:5/db"
    assert store_url("sqlite:///x.db", Path(".")) == "sqlite+aiosqlite:///x.db"
    with pytest.raises(ValueError, match="'mysql' databases are not supported"):
        store_url("mysql://h/db", Path("."))
    with pytest.raises(ValueError, match="is not a database URL"):
        store_url("not a url", Path("."))


async def test_sqlite_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = await open_store(_url(f"sqlite:///{tmp_path / 'desk.db'}"))
    try:
        async with store.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
    finally:
        await store.close()


_IMPORT_KILLED = """
import asyncio, sys
from tarjama_server.core.desk import Desk
from tarjama_server.store import open_store

async def main(url, path):
    store = await open_store(url)
    index_new_rows = store._index_new_rows

    async def hold(connection, last_id):
        await index_new_rows(connection, last_id)
        print("inserted", flush=True)  # every row written, the transaction not yet committed
        await asyncio.Event().wait()

    store._index_new_rows = hold
    await Desk(store).import_memory(memory="", tmx=open(path, "rb").read())

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_sigkill_during_an_import_leaves_the_memory_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "desk.db"
    url = _url(f"sqlite:///{database}")
    store = await open_store(url)
    try:
        await Desk(store).save_translation(memory="", source=SENTENCE, translation="before")
    finally:
        await store.close()
    big = tmp_path / "big.tmx"
    big.write_bytes(
        tmx(unit(SENTENCE, "after"), *(unit(f"{OTHER} رقم {i}", f"Oil rose, number {i}.") for i in range(5000)))
    )
    process = subprocess.Popen([sys.executable, "-c", _IMPORT_KILLED, url, str(big)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "inserted"
        wal = Path(f"{database}-wal")
        assert wal.stat().st_size > 2**18, "the import's rows never reached the WAL: the kill would test nothing"
        process.send_signal(signal.SIGKILL)
        assert process.wait(WAIT_SECONDS) == -signal.SIGKILL
    finally:
        process.kill()
        process.wait(WAIT_SECONDS)
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT memory, source, translation FROM memory_entries").fetchall() == [
            ("default", SENTENCE, "before")
        ]
        assert connection.execute("SELECT count(*) FROM memory_fts WHERE memory_fts MATCH '\"رقم\"'").fetchone() == (0,)
