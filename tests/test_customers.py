"""The CRM a team loads itself: `supportctl customers import|show`, and the counts the ticket store keeps.

Each command test has a database of its own (the import's counts cover every row it touches).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db import customers, tickets
from db.pool import create_pool
from domain.contacts import derive_customer_id, name_from_email
from domain.models import Customer, Plan
from supportctl.main import main as supportctl_main

CSV = """customer_id,email,name,company,plan,is_vip,lifetime_value
c-1,Ada@Example.com,Ada Lovelace,Engines Ltd,pro,true,1200.50
,grace@example.com,,Navy,enterprise,yes,
c-3,linus@example.com,Linus,,free,,0
"""


def _db(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            return list(await pool.fetch(query, *args))
        finally:
            await pool.close()

    return asyncio.run(run())


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = supportctl_main(argv)
    out, err = capsys.readouterr()
    return code, out.strip().splitlines(), err


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_is_imported_then_reimporting_it_changes_nothing(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "crm.csv", CSV)
    code, out, _ = _run(["customers", "import", path], capsys)
    assert code == 0, out
    assert json.loads(out[-1]) == {"rows": 3, "inserted": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    rows = {r["customer_id"]: dict(r) for r in _db(cli_database, "SELECT * FROM customers")}
    grace = derive_customer_id("grace@example.com")
    assert set(rows) == {"c-1", grace, "c-3"}
    assert rows["c-1"]["email"] == "ada@example.com" and rows["c-1"]["is_vip"] is True
    assert float(rows["c-1"]["lifetime_value"]) == 1200.50 and rows["c-1"]["plan"] == "pro"
    assert rows[grace]["name"] == "Grace" and rows[grace]["plan"] == "enterprise" and rows[grace]["is_vip"]
    assert rows["c-3"]["company"] is None and rows["c-3"]["is_vip"] is False

    code, out, _ = _run(["customers", "import", path], capsys)
    assert code == 0 and "nothing changed" in out[0]
    assert json.loads(out[-1]) == {"rows": 3, "inserted": 0, "updated": 0, "unchanged": 3, "invalid": 0}

    changed = CSV.replace("Linus,,free", "Linus Torvalds,,starter")
    code, out, _ = _run(["customers", "import", _write(tmp_path, "crm2.csv", changed)], capsys)
    assert json.loads(out[-1]) == {"rows": 3, "inserted": 0, "updated": 1, "unchanged": 2, "invalid": 0}
    assert _db(cli_database, "SELECT name, plan FROM customers WHERE customer_id = 'c-3'")[0]["plan"] == "starter"


def test_a_jsonl_file_is_imported_and_shown(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {"customer_id": "j-1", "email": "jo@example.com", "name": "Jo", "plan": "Starter", "is_vip": False},
        {"email": "sam.o-neil+shop@example.com", "lifetime_value": 99, "ticket_count": 40},  # computed: ignored
    ]
    path = _write(tmp_path, "crm.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    code, out, _ = _run(["customers", "import", path], capsys)
    assert code == 0
    assert json.loads(out[-1]) == {"rows": 2, "inserted": 2, "updated": 0, "unchanged": 0, "invalid": 0}

    code, out, _ = _run(["customers", "show", "SAM.O-NEIL+shop@example.com"], capsys)
    shown = json.loads(out[-1])
    assert code == 0 and shown["name"] == "Sam O Neil" and shown["plan"] == "free"
    assert shown["customer_id"] == derive_customer_id("sam.o-neil+shop@example.com")
    assert shown["ticket_count"] == 0 and shown["average_csat"] is None  # from the (empty) ticket store
    code, out, _ = _run(["customers", "show", "j-1"], capsys)
    assert code == 0 and json.loads(out[-1])["plan"] == "starter"
    code, out, _ = _run(
        ["customers", "import", _write(tmp_path, "id.csv", "customer_id,email\nme@id.example,z@example.com\n")], capsys
    )
    code, out, _ = _run(["customers", "show", "me@id.example"], capsys)  # an id shaped like an email
    assert code == 0 and json.loads(out[-1])["email"] == "z@example.com"
    code, _, err = _run(["customers", "show", "nobody"], capsys)
    assert code == 1 and "no customer 'nobody'" in err


BAD = """email,name,plan
ok@example.com,Ok,pro
not-an-email,Bad,pro
other@example.com,Other,platinum
OK@example.com,Twice,free
"""


def test_a_file_with_bad_rows_is_refused_whole_with_their_lines(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "bad.csv", BAD)
    code, out, err = _run(["customers", "import", path], capsys)
    assert code == 1 and "nothing imported" in out[0]
    assert json.loads(out[-1]) == {"rows": 4, "inserted": 0, "updated": 0, "unchanged": 0, "invalid": 3}
    assert f"{path}:3: email: not an email address" in err
    assert f"{path}:4: plan: Input should be 'free', 'starter', 'pro' or 'enterprise'" in err
    assert f"{path}:5: email 'ok@example.com' is also on {path}:2" in err
    assert _db(cli_database, "SELECT count(*) AS n FROM customers")[0]["n"] == 0, "nothing written"

    code, out, err = _run(["customers", "import", path, "--skip-invalid"], capsys)
    assert code == 0 and "3 invalid rows skipped" in out[0]
    assert json.loads(out[-1]) == {"rows": 4, "inserted": 1, "updated": 0, "unchanged": 0, "invalid": 3}
    assert f"{path}:4: plan" in err
    assert [r["email"] for r in _db(cli_database, "SELECT email FROM customers")] == ["ok@example.com"]


def test_an_email_another_customer_holds_is_a_reason_not_a_crash(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _run(["customers", "import", _write(tmp_path, "a.csv", "customer_id,email\na-1,x@example.com\n")], capsys)[0]
        == 0
    )
    path = _write(tmp_path, "b.csv", "customer_id,email\nb-1,X@example.com\nb-2,y@example.com\n")
    code, out, err = _run(["customers", "import", path], capsys)
    assert code == 1 and f"{path}:2: email 'x@example.com' belongs to customer 'a-1' in the CRM" in err
    assert json.loads(out[-1])["invalid"] == 1
    assert _db(cli_database, "SELECT count(*) AS n FROM customers")[0]["n"] == 1

    code, out, _ = _run(["customers", "import", path, "--skip-invalid"], capsys)
    assert code == 0 and json.loads(out[-1]) == {"rows": 2, "inserted": 1, "updated": 0, "unchanged": 0, "invalid": 1}


def test_a_missing_file_or_email_column_is_an_error(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["customers", "import", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "no such file" in err
    code, _, err = _run(["customers", "import", _write(tmp_path, "x.csv", "mail,name\na@example.com,A\n")], capsys)
    assert code == 1 and "no 'email' column" in err


def test_a_big_file_reports_progress_on_stderr(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "".join(f"u{i}@example.com,User {i}\n" for i in range(2500))
    code, out, err = _run(["customers", "import", _write(tmp_path, "big.csv", "email,name\n" + body)], capsys)
    assert code == 0 and json.loads(out[-1])["inserted"] == 2500
    assert "importing customers" in err and "2500/2500" in err


def test_names_and_ids_from_an_email() -> None:
    assert name_from_email("jane.doe+x@ex.example") == "Jane Doe"
    assert derive_customer_id("A@b.example") == derive_customer_id(" a@B.example ")
    assert derive_customer_id("a@b.example").startswith("cus_")


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(own_database, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def test_ticket_count_and_average_csat_come_from_the_ticket_store(store: asyncpg.Pool) -> None:
    # Seeded numbers (the demo's) are history the store does not hold: reads show what it holds.
    await customers.upsert_customers(
        store,
        [
            Customer(
                customer_id="cus_a", email="a@example.com", name="A", plan=Plan.PRO, ticket_count=9, average_csat=2.0
            )
        ],  # fmt: skip
    )
    found = await customers.get_customer(store, "cus_a", stats=True)
    assert found is not None and (found.ticket_count, found.average_csat) == (0, None)
    now = datetime.now(UTC)
    for n, score in enumerate((5, 4, None)):
        tid = f"tkt_{n:016x}"
        await tickets.insert_ticket(
            store, ticket_id=tid, workflow_id=f"ticket-{tid}", customer_id="cus_a", channel="email",
            subject="s", status="resolved", created_at=now,
        )  # fmt: skip
        await store.execute("UPDATE tickets SET csat_score = $2 WHERE ticket_id = $1", tid, score)
    found = await customers.get_customer_by_email(store, "A@example.com", stats=True)
    assert found is not None and (found.ticket_count, found.average_csat) == (3, 4.5)
