"""Settings: departments, the routing rules and SLA rows edited in the UI, checked as
``qanat router check`` checks them, kept as versions with an audit entry."""

from __future__ import annotations

from sqlmodel import col, select

from qanat.runtime import Runtime
from qanat.store import audit, rules_versions
from qanat.store.tables import Department
from tests.web.conftest import Login


async def test_a_department_renamed_in_arabic_is_a_new_rules_version(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    form = {"name_ar": "إدارة الطرق", "name_en": "Roads", "email": "roads@works.example.bh",
            "working_hours": "07:30-14:30", "assignment": "round_robin"}  # fmt: skip
    saved = await admin.post("/settings/departments/roads", data=form)
    assert saved.status_code == 303
    rules = seeded.rules()
    roads = rules.department("roads")
    assert roads is not None and (roads.name_ar, roads.working_hours) == (
        "إدارة الطرق",
        "07:30-14:30",
    )
    assert roads.assignment == "round_robin"
    async with seeded.db.session() as session:
        row = (
            await session.execute(select(Department).where(col(Department.code) == "roads"))
        ).scalar_one()
        [version] = await rules_versions.history(session)
        [entry] = [e for e in await audit.recent(session) if e["action"] == "rules_saved"]
    assert (row.name_ar, row.email) == ("إدارة الطرق", "roads@works.example.bh")
    assert version.version == rules.version and version.created_by == "staff:admin"
    assert "# qanat routing rules" in version.text  # the file's comments are kept
    assert entry["detail"]["version"] == rules.version
    listed = (await admin.get("/settings/departments")).text
    assert "إدارة الطرق" in listed


async def test_a_department_form_marks_its_mistakes_and_saves_nothing(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    form = {"name_ar": "", "name_en": "Roads", "email": "not an address",
            "working_hours": "15:00-07:00"}  # fmt: skip
    response = await admin.post("/settings/departments/roads", data=form)
    assert response.status_code == 422
    assert "هذا الحقل مطلوب." in response.text and "البريد الإلكتروني غير صحيح." in response.text
    assert "والبداية قبل النهاية" in response.text
    async with seeded.db.session() as session:
        assert await rules_versions.history(session) == []


async def test_the_rules_editor_names_the_line_of_a_problem(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    text = (await admin.get("/settings/rules.yaml")).text
    assert text.startswith("# qanat routing rules")
    broken = text.replace("default_department: call_centre", "default_department: nowhere")
    checked = await admin.post("/settings/rules", data={"text": broken, "action": "check"})
    assert checked.status_code == 422
    assert "لم تُحفظ القواعد لأنها لا تصح:" in checked.text
    assert "rules:13: unknown department &#39;nowhere&#39;" in checked.text
    fixed = text.replace("default_department: call_centre", "default_department: roads")
    ok = await admin.post("/settings/rules", data={"text": fixed, "action": "check"})
    assert ok.status_code == 200 and "القواعد صحيحة" in ok.text
    assert seeded.rules().default_department == "call_centre"  # checking saves nothing
    saved = await admin.post("/settings/rules", data={"text": fixed, "note": "الطرق أولًا"})
    assert saved.status_code == 303
    assert seeded.rules().default_department == "roads"
    page = (await admin.get("/settings/rules")).text
    assert "الطرق أولًا" in page and seeded.rules().version in page


async def test_sla_rows_are_edited_in_a_table(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    rows = seeded.rules().sla
    form: dict[str, str] = {}
    for n, row in enumerate(rows):
        for field in (
            "department",
            "kind",
            "priority",
            "first_response_hours",
            "resolution_hours",
            "clock",
        ):
            form[f"row-{n}-{field}"] = str(getattr(row, field))
    form["row-0-resolution_hours"] = "30"  # normal: 40 → 30
    form[f"row-{len(rows) - 1}-remove"] = "1"  # the call centre's inquiry row goes
    new = len(rows)
    added = {"department": "parks", "kind": "*", "priority": "low",
             "first_response_hours": "24", "resolution_hours": "120"}  # fmt: skip
    form |= {f"row-{new}-{field}": value for field, value in added.items()}
    bad = await admin.post("/settings/sla", data=form | {"row-1-first_response_hours": "-2"})
    assert bad.status_code == 422 and "أدخل عددًا موجبًا من الساعات." in bad.text
    assert (await admin.post("/settings/sla", data=form)).status_code == 303
    after = seeded.rules().sla
    assert after[0].resolution_hours == 30
    assert len(after) == len(rows)  # one removed, one added
    assert (after[-1].department, after[-1].priority, after[-1].resolution_hours) == (
        "parks",
        "low",
        120,
    )
    assert all(r.department != "call_centre" for r in after)


async def test_the_settings_index_lists_what_the_viewer_may_open(login: Login) -> None:
    page = (await (await login("admin")).get("/settings")).text
    for href in ("/settings/departments", "/settings/canned", "/settings/users", "/settings/rules",
                 "/settings/sla", "/admin/tokens", "/admin/audit"):  # fmt: skip
        assert f'href="{href}"' in page
    assert (await (await login("sup_sewage")).get("/settings")).status_code == 403
