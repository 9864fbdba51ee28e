"""The dashboard page and its CSV exports, scoped like everything else."""

from __future__ import annotations

import csv
import html
import io
import re

from qanat.web.dashboard import csv_lines
from tests.web.conftest import Login


async def test_the_dashboard_draws_its_charts(login: Login) -> None:
    admin = await login("admin")
    response = await admin.get("/dashboard", params={"days": 60})
    assert response.status_code == 200
    assert response.text.count("<svg") == 5
    assert "الحجم حسب القناة" in response.text


async def test_a_supervisor_sees_their_department_only(login: Login) -> None:
    supervisor = await login("sup_sewage")
    figures = (await supervisor.get("/api/dashboard", params={"days": 60})).json()
    assert figures["overall"]["tickets"] == 4
    assert list(figures["per_department"]) == ["sewage"]
    admin = await login("admin")
    everything = (await admin.get("/api/dashboard", params={"days": 60})).json()
    assert everything["overall"]["tickets"] == 6
    assert everything["places"][0]["block"] == "305"


async def test_dashboard_tables_export_as_csv(login: Login) -> None:
    admin = await login("admin")
    response = await admin.get("/dashboard/performance.csv", params={"days": 60})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["القسم", "التذاكر", "تم الرد"]  # the admin reads Arabic
    assert {row[0] for row in rows[1:]} == {"الصرف الصحي", "الطرق", "الحدائق والتشجير"}
    assert (await admin.get("/dashboard/nothing.csv")).status_code == 404


async def test_the_tickets_export_is_scoped(login: Login) -> None:
    supervisor = await login("sup_sewage")
    response = await supervisor.get("/export/tickets.csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "reference"
    assert [row[0] for row in rows[1:]] == [
        "QN-2026-000001",
        "QN-2026-000002",
        "QN-2026-000005",
        "QN-2026-000006",
    ]
    assert all(row[6] == "sewage" for row in rows[1:])


def test_cells_never_start_a_formula() -> None:
    assert csv_lines([["=HYPERLINK(1)", "+1", "-2", "@x", "ok", None, 3]]) == (
        "'=HYPERLINK(1),'+1,'-2,'@x,ok,,3\r\n"
    )


async def test_every_bar_opens_the_list_it_counts(login: Login) -> None:
    admin = await login("admin")
    await admin.post("/api/tickets/QN-2026-000005/take")
    page = (await admin.get("/dashboard", params={"days": 120})).text
    bars = [html.unescape(h) for h in re.findall(r'<a href="(/inbox\?[^"]+)"><rect', page)]
    channel_bar = next(h for h in bars if "channel=email" in h)
    listed = (await admin.get(channel_bar)).text
    assert re.findall(r'data-reference="(QN-[0-9-]+)"', listed) == ["QN-2026-000003"]
    workload = re.search(r'<a href="(/inbox\?[^"]*assignee=admin[^"]*)">', page)
    assert workload is not None
    held = (await admin.get(html.unescape(workload.group(1)))).text
    assert re.findall(r'data-reference="(QN-[0-9-]+)"', held) == ["QN-2026-000005"]
    # Every seed ticket is long past its due time by now: the breaches list has them all.
    breaches = re.search(r'<a class="figure" href="([^"]*breached=1[^"]*)"', page)
    assert breaches is not None
    late = (await admin.get(html.unescape(breaches.group(1)))).text
    assert len(re.findall(r"<tr data-reference=", late)) == 6
