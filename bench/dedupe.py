"""Dedupe at scale: the decision through the candidate index, against brute force.

For N open tickets of generated bilingual complaints (Gulf Arabic, MSA, English, mixed,
Arabizi; the sample rules' categories in realistic shares; blocks of Bahrain's
gazetteer weighted by population; some with coordinates, some with no place at all):

- index build time and memory (RSS growth; per ticket);
- the decision as the pipeline makes it once the index is current: the index's
  proposals plus scoring them (``CandidateIndex.best_match``) — CPU and wall-clock
  p50 / p99. The store round trip the service adds around it (the events catch-up
  query under the lock, reading the winner back) is not in it: ``--store URL`` (or
  ``--store sqlite``) measures the whole ``find_duplicate`` on a store of the first size;
- in the same run, brute force: the same scorer over *every* open ticket
  (``CandidateIndex.scan``, exact by test) — its latency, the speed ratio, and the share
  of brute force's matches the index also finds (the same primary).

New reports: half repeat an open ticket in other words (another language, another
register, the place given otherwise), a quarter are other problems in the same block
(hard negatives), a quarter new problems anywhere.

    python bench/dedupe.py [--sizes 10000,100000,1000000] [--queries 2000] [--brute 200]
                           [--backlog-days 120] [--store sqlite|postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from qanat.dedupe import service
from qanat.dedupe.index import CandidateIndex, entry_of
from qanat.dedupe.live import LiveIndex
from qanat.dedupe.similarity import Report, combined_score, features
from qanat.model import Location
from qanat.normalize.location import extract_location, load_gazetteer
from qanat.normalize.text import match_form
from qanat.router.rules import load_rules
from qanat.store import queries
from qanat.store.db import Database
from qanat.store.migrate import upgrade
from qanat.store.tables import Event, Ticket

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RULES = load_rules()
#: Reports that say nothing of where (a tweet, an SMS without an address).
PLACELESS_SHARE = 0.12

# (category, department, share %, wordings). {r}: road, {b}: block, {p}: a landmark.
PROBLEMS: list[tuple[str | None, str | None, int, list[str]]] = [
    (
        "pothole",
        "roads",
        12,
        [
            "حفرة كبيرة في الشارع {r} {p}",
            "حفره عميقه في طريق {r} خربت تاير السيارة",
            "في حفر وايد بالشارع قريب {p}",
            "huge pothole on road {r} {p}",
            "pothole near {p} damaged my car",
            "7ufra kbeera fi share3 {r}",
            "الحفرة اللي في طريق {r} للحين ما تصلحت",
            "يوجد حفرة خطرة في الطريق رقم {r}",
        ],
    ),
    (
        "road_damage",
        "roads",
        5,
        [
            "الاسفلت متكسر في طريق {r}",
            "تشققات الطريق قرب {p}",
            "road surface broken on road {r}",
            "the asphalt is damaged after the works near {p}",
            "الشارع كله تموجات بعد الحفريات",
        ],
    ),
    (
        "traffic_signal",
        "roads",
        3,
        [
            "الاشارة الضوئية عطلانة عند {p}",
            "traffic light not working at {p}",
            "إشارة المرور معطلة منذ الصباح عند تقاطع طريق {r}",
            "signal stuck on red road {r}",
        ],
    ),
    (
        "road_marking",
        "roads",
        3,
        [
            "نحتاج مطب قبل {p} السيارات مسرعة",
            "speed bump needed near {p}",
            "خطوط المشاة ممسوحة عند {p}",
            "zebra crossing faded on road {r}",
        ],
    ),
    (
        "sidewalk_repair",
        "roads",
        3,
        [
            "الرصيف مكسر قدام {p}",
            "broken sidewalk on road {r}",
            "الارصفة متكسرة في طريق {r}",
        ],
    ),
    (
        "sewage_overflow",
        "sewage",
        10,
        [
            "طفح مجاري في طريق {r} {p}",
            "المجاري طافحة عند البيوت طريق {r}",
            "sewage overflowing on road {r}",
            "sewage water all over the street near {p}",
            "مجاري طافحه والريحة ما تنطاق قرب {p}",
            "يوجد طفح للصرف الصحي في الطريق {r}",
            "sewer overflow block {b} road {r} smell is terrible",
            "el majari tafha fi road {r}",
        ],
    ),
    (
        "blocked_drain",
        "sewage",
        8,
        [
            "تجمع مياه الامطار في طريق {r}",
            "ماي واقف قدام {p} من يومين",
            "drain blocked on road {r}",
            "water pooling near {p} after the rain",
            "انسداد في تصريف المياه طريق {r}",
        ],
    ),
    (
        "open_manhole",
        "sewage",
        4,
        [
            "منهول مفتوح بدون غطاء قرب {p}",
            "فتحة مجاري مكشوفة في طريق {r} خطر على الاطفال",
            "open manhole on road {r}",
            "manhole cover missing near {p}",
        ],
    ),
    (
        "dangerous_building",
        "buildings",
        2,
        [
            "بيت مهجور ايل للسقوط قرب {p}",
            "abandoned house about to collapse on road {r}",
        ],
    ),
    (
        "illegal_construction",
        "buildings",
        3,
        [
            "جاري يبني ملحق بدون ترخيص في طريق {r}",
            "construction without permit near {p}",
            "بناء مخالف في مجمع {b}",
        ],
    ),
    (
        "street_light_out",
        "street_lighting",
        12,
        [
            "الانارة طافية في طريق {r} {p}",
            "اعمدة الانارة طافيه شارع {r} والمكان مظلم",
            "street lights out on road {r}",
            "the street lights are off near {p}",
            "الشارع ظلام من اسبوع قرب {p}",
            "lights off fi share3 {r} kil yom",
            "انقطاع الإنارة في الطريق رقم {r}",
        ],
    ),
    (
        "fallen_pole",
        "street_lighting",
        2,
        [
            "عمود الانارة طايح في طريق {r}",
            "light pole down on road {r} near {p}",
            "سقوط عمود إنارة والأسلاك مكشوفة قرب {p}",
        ],
    ),
    (
        "garbage",
        "cleanliness",
        14,
        [
            "الزبالة متراكمة عند الحاويات طريق {r}",
            "القمامه ما انشالت من ايام قرب {p}",
            "rubbish not collected on road {r}",
            "garbage piling up near {p} for a week",
            "الزباله مكدسه والقطاوه ناثرينها طريق {r}",
            "مخلفات بناء مرمية جنب {p}",
            "zbala ma inshalat mn 3 ayam road {r}",
        ],
    ),
    (
        "bins",
        "cleanliness",
        4,
        [
            "الحاوية مكسورة في طريق {r}",
            "we need a new bin on road {r}",
            "الحاويات ممتلئة قرب {p}",
        ],
    ),
    (
        "stray_animals",
        "cleanliness",
        4,
        [
            "كلاب ضالة قرب {p} الاطفال خايفين",
            "stray dogs near {p} at night",
            "حيوان نافق في طريق {r}",
        ],
    ),
    (
        "park_maintenance",
        "parks",
        3,
        [
            "العاب الاطفال في الحديقة مكسرة {p}",
            "the playground swings are broken at {p}",
        ],
    ),
    (
        "tree_trimming",
        "parks",
        3,
        [
            "الاشجار تحتاج تقليم في طريق {r}",
            "trees blocking the street lights on road {r}",
        ],
    ),
    ("fallen_tree", "parks", 1, ["شجرة طاحت على الشارع {r}", "a tree has fallen on road {r}"]),
    (
        None,
        None,
        8,
        [
            "ما في احد رد علينا بخصوص المشكلة في طريق {r}",
            "any update on my complaint please",
            "المشكلة للحين موجودة قرب {p}",
            "نبي احد يجي يشوف الوضع في مجمع {b}",
            "مشكلة في الشارع {r} نرجو المتابعة",
            "still waiting for someone to come to road {r}",
        ],
    ),
]
LANDMARKS = [
    "المخبز",
    "المسجد",
    "المدرسة",
    "الدوار",
    "الصيدلية",
    "البرادة",
    "المركز الصحي",
    "the mosque",
    "the school",
    "the roundabout",
    "the bakery",
    "the cold store",
    "الملعب",
    "محطة البترول",
    "the petrol station",
    "the health centre",
    "",
]
TAILS = ["", "", "", "من يومين", "من اسبوع", "please fix", "الله يعطيكم العافية", "asap 😡",
         "since yesterday", "وايد خطر", "#وزارة_الأشغال", "كل يوم نفس الشي"]  # fmt: skip


class Places:
    """Bahrain's blocks (the gazetteer's ranges), weighted by a made-up population."""

    def __init__(self, rng: random.Random) -> None:
        self.blocks = [
            str(b) for area in load_gazetteer() for b in range(area.block_from, area.block_to + 1)
        ]
        self.weights = [rng.lognormvariate(0, 1) for _ in self.blocks]
        self.roads = {b: rng.sample(range(1, 6000), 40) for b in self.blocks}
        self.centre = {b: (rng.uniform(26.0, 26.3), rng.uniform(50.45, 50.65)) for b in self.blocks}

    def block(self, rng: random.Random) -> str:
        return rng.choices(self.blocks, self.weights)[0]


def wording(rng: random.Random, texts: list[str], block: str, road: str) -> str:
    """A citizen's words; ``block`` and ``road`` empty: they don't say where."""
    template = rng.choice(texts)
    text = template.format(r=road, b=block, p=rng.choice(LANDMARKS))
    if road and "{r}" not in template and rng.random() < 0.6:
        text += rng.choice([f" طريق {road}", f" road {road}", f" شارع {road}", f" Rd {road}"])
    if block and rng.random() < 0.35:
        text += rng.choice([f" مجمع {block}", f" block {block}", f" Blk {block}", f" مجمع {block}"])
    return f"{text} {rng.choice(TAILS)}".strip()


def ticket(
    rng: random.Random,
    places: Places,
    created_at: datetime,
    problem: int | None = None,
    block: str | None = None,
    road: str | None = None,
) -> Report:
    """One report as the pipeline reads it: the place comes from its words, from the
    channel (a form's block, an app's coordinates), or nowhere."""
    chosen = PROBLEMS[problem] if problem is not None else rng.choices(
        PROBLEMS, [p[2] for p in PROBLEMS]
    )[0]  # fmt: skip
    category, department, _share, texts = chosen
    block = block or places.block(rng)
    road = road or str(rng.choice(places.roads[block]))
    placeless = rng.random() < PLACELESS_SHARE
    text = wording(rng, texts, "" if placeless else block, "" if placeless else road)
    given = Location()
    if not placeless and rng.random() < 0.4:
        given.block = block  # a form or the app named the block
    if not placeless and rng.random() < 0.3:
        lat, lon = places.centre[block]
        given.lat, given.lon = lat + rng.gauss(0, 0.003), lon + rng.gauss(0, 0.003)
    place = extract_location(text, given)[0] or Location()
    return Report(
        match_text=match_form(text),
        created_at=created_at,
        block=place.block,
        road=place.road,
        building=place.building,
        category=category,
        department=department,
        lat=place.lat,
        lon=place.lon,
    )


def backlog(rng: random.Random, places: Places, size: int, days: float) -> list[Report]:
    """``size`` open tickets sent over the last ``days`` days, oldest first."""
    minutes = sorted(rng.uniform(0, days * 24 * 60) for _ in range(size))
    return [ticket(rng, places, NOW - timedelta(minutes=m)) for m in reversed(minutes)]


def new_reports(
    rng: random.Random, places: Places, filed: list[Report], count: int
) -> list[Report]:
    """Reports arriving now: half repeat a ticket of the last three days in other words
    (duplicates come in bursts), a quarter are other problems in the same block as an
    open ticket (hard negatives), a quarter are new problems anywhere."""
    recent = [r for r in filed[-len(filed) // 10 :] if r.created_at >= NOW - timedelta(days=3)]
    reports = []
    for number in range(count):
        at = NOW + timedelta(minutes=rng.uniform(0, 60))
        old = rng.choice(recent if number % 4 < 2 else filed)
        kind = next(i for i, p in enumerate(PROBLEMS) if p[0] == old.category)
        if number % 4 < 2 and old.block:
            again = ticket(rng, places, at, kind, block=old.block, road=old.road)
            if old.lat is not None and again.lat is not None:  # the same spot, seen again
                again = replace(again, lat=old.lat + rng.gauss(0, 0.0005), lon=old.lon)
            reports.append(again)
        elif number % 4 == 2 and old.block:
            other = rng.choice([i for i in range(len(PROBLEMS)) if i != kind])
            reports.append(ticket(rng, places, at, other, block=old.block))
        else:
            reports.append(ticket(rng, places, at))
    return reports


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def build(filed: list[Report]) -> tuple[CandidateIndex, float, int]:
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    index = CandidateIndex()
    for ticket_id, report in enumerate(filed, start=1):
        index.put(ticket_id, entry_of(report))
    seconds = time.perf_counter() - started
    gc.collect()
    return index, seconds, rss_bytes() - before


def filing(index: CandidateIndex) -> tuple[float, float]:
    """Seconds to file the index's entries one by one and all at once (a worker's start)."""
    tickets = list(index.entries.items())
    started = time.perf_counter()
    one_by_one = CandidateIndex()
    for ticket_id, entry in tickets:
        one_by_one.put(ticket_id, entry)
    middle = time.perf_counter()
    del one_by_one
    CandidateIndex.of(tickets)
    return middle - started, time.perf_counter() - middle


def decide(
    index: CandidateIndex, report: Report, *, brute: bool = False
) -> tuple[float, float, int | None]:
    """Wall-clock and CPU milliseconds of one decision, and the ticket it links to."""
    policy = RULES.dedupe
    threshold, window = policy.threshold_for(report.category), policy.window_for(report.category)
    started, cpu = time.perf_counter(), time.thread_time()
    if brute:
        match = index.scan(report, threshold=threshold, window=window)
    else:
        match = index.best_match(report, threshold=threshold, window=window)
    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return wall * 1000, cpu * 1000, match.ticket_id if match else None


def tied(filed: list[Report], report: Report, expected: int, got: int | None) -> bool:
    """Whether the index's primary scores as high as brute force's (a tie broken otherwise)."""
    if got is None:
        return False
    score = {n: combined_score(features(report, filed[n - 1])) for n in (expected, got)}
    return score[got] >= score[expected]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def run(size: int, queries: int, brute: int, days: float) -> tuple[list[Report], list[Report]]:
    rng = random.Random(size)
    places = Places(rng)
    started = time.perf_counter()
    filed = backlog(rng, places, size, days)
    generated = time.perf_counter() - started
    index, build_s, grown = build(filed)
    reports = new_reports(rng, places, filed, queries)
    for report in reports[:50]:
        decide(index, report)  # warm up
    timed = [decide(index, report) for report in reports]
    wall = [ms for ms, _cpu, _found in timed]
    cpu = [ms for _ms, ms, _found in timed]
    brute_runs = [decide(index, report, brute=True) for report in reports[:brute]]
    brute_cpu = statistics.median(ms for _ms, ms, _found in brute_runs)
    matches = [(found, timed[i][2]) for i, (_m, _c, found) in enumerate(brute_runs) if found]
    same = sum(1 for expected, got in matches if expected == got)
    kept = sum(
        1
        for n, (_m, _c, found) in enumerate(brute_runs)
        if found and tied(filed, reports[n], found, timed[n][2])
    )
    print(f"{size:>9,} open tickets sent over {days:g} days (generated in {generated:.0f} s)")
    one_by_one, at_once = filing(index)
    print(
        f"  index: built in {build_s:.1f} s, {grown / 1e6:,.0f} MB "
        f"({grown / size:,.0f} bytes per ticket), {len(index.postings):,} keys; its entries "
        f"filed one by one in {one_by_one:.1f} s, at once in {at_once:.1f} s"
    )
    print(
        f"  decision (index proposals + scoring), {queries} new reports: "
        f"CPU p50 {statistics.median(cpu):.3f} ms, p99 {percentile(cpu, 0.99):.3f} ms; "
        f"wall-clock p50 {statistics.median(wall):.3f} ms, p99 {percentile(wall, 0.99):.3f} ms; "
        f"linked {sum(1 for *_t, f in timed if f) / queries:.0%}"
    )
    print(
        f"  brute force (same scorer, every open ticket), {brute} of them: CPU p50 "
        f"{brute_cpu:.1f} ms ({brute_cpu / statistics.median(cpu):,.0f}x the index); "
        f"of its {len(matches)} matches the index found the same primary for {same} "
        f"({same / max(len(matches), 1):.1%}), one scoring as high for {kept} "
        f"({kept / max(len(matches), 1):.1%})"
    )
    return filed, reports


async def store_part(url: str, filed: list[Report], reports: list[Report]) -> None:
    """``find_duplicate`` as the service runs it, on a store holding ``filed``."""
    database = Database.from_url(url)
    try:
        async with database.writing() as session:
            if await queries.count_rows(session, Ticket):
                raise SystemExit(f"--store needs an empty database; {url} holds tickets")
            departments = await queries.sync_departments(
                session,
                departments=[(d.code, d.name_en, d.name_ar, d.email) for d in RULES.departments],
            )
            rows = [_row(n, report, departments) for n, report in enumerate(filed, start=1)]
            for start in range(0, len(rows), 5000):
                await session.execute(insert(Ticket), rows[start : start + 5000])
            # The store's history so far, as far as the index reads it: one event.
            await session.execute(
                insert(Event),
                [
                    {
                        "ticket_id": len(rows),
                        "actor": "bench",
                        "type": "created",
                        "at": NOW,
                        "data": {},
                    }
                ],
            )
        folder = Path(tempfile.mkdtemp())
        live = LiveIndex(snapshot=folder / "dedupe-index.jsonl", snapshot_from=1)
        started = time.perf_counter()
        async with database.session() as session:
            await live.load(session)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        async with database.session() as session:
            await live.save(session)
        kept = time.perf_counter() - started
        size = live.snapshot.stat().st_size if live.snapshot else 0
        restarted = LiveIndex(snapshot=live.snapshot, snapshot_from=1)
        gc.collect()
        before = rss_bytes()
        started = time.perf_counter()
        async with database.session() as session:
            await restarted.ready(session)
        restored = time.perf_counter() - started
        grown = rss_bytes() - before
        assert restarted.index.postings == live.index.postings, "the snapshot lost tickets"
        del restarted
        shutil.rmtree(folder)
        catch_up, whole = [], []
        for report in reports:
            async with database.writing() as session:
                # The pipeline's transaction is under way when it decides: connected, begun.
                await session.execute(select(1))
                started = time.perf_counter()
                await live.catch_up(session)
                caught = time.perf_counter()
                await service.best_primary(session, live.index, new=report, rules=RULES.dedupe)
                catch_up.append((caught - started) * 1000)
                whole.append((time.perf_counter() - started) * 1000)
    finally:
        await database.dispose()
    print(
        f"  warm start: the index kept in {kept:.1f} s ({size / 1e6:,.0f} MB), a restart ready "
        f"from it in {restored:.1f} s (read, filed, caught up; {grown / 1e6:,.0f} MB) against "
        f"{loaded:.1f} s from the store"
    )
    print(
        f"  on the store ({url.split(':')[0]}): index loaded in {loaded:.1f} s; events catch-up "
        f"query p50 {statistics.median(catch_up):.2f} ms, p99 {percentile(catch_up, 0.99):.2f} ms; "
        f"find_duplicate (catch-up + index + reading the winner) p50 "
        f"{statistics.median(whole):.2f} ms, p99 {percentile(whole, 0.99):.2f} ms"
    )


def _row(number: int, report: Report, departments: dict[str, int]) -> dict[str, object]:
    return {
        "reference": f"QN-2026-{number:07d}",
        "kind": "complaint",
        "status": "open",
        "priority": "normal",
        "channel": "sms",
        "match_text": report.match_text,
        "block": report.block,
        "road": report.road,
        "building": report.building,
        "area": report.area,
        "category": report.category,
        "department_id": departments.get(report.department or ""),
        "lat": report.lat,
        "lon": report.lon,
        "created_at": report.created_at,
        "updated_at": report.created_at,
        "flags": [],
        "needs_triage": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--brute", type=int, default=200)
    parser.add_argument("--backlog-days", type=float, default=120, help="open tickets' age span")
    parser.add_argument("--store", help="sqlite, or an empty PostgreSQL database's URL")
    args = parser.parse_args()
    for number, size in enumerate(int(s) for s in args.sizes.split(",")):
        filed, reports = run(size, args.queries, args.brute, args.backlog_days)
        if args.store and number == 0:
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{folder}/bench.db" if args.store == "sqlite" else args.store
                upgrade(url)
                asyncio.run(store_part(url, filed, reports[:500]))


if __name__ == "__main__":
    main()
