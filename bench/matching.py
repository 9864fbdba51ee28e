"""Duplicate matching against the simplest baselines, on data nobody here wrote.

    python bench/matching.py [--data DIR]

DIR (default ``../shared/data`` beside the checkout, or ``QANAT_BENCH_DATA``) holds
public data sets; each part is skipped, saying so, when its files are not there — qanat
ships none of them. Every figure is printed beside its baselines computed in the same
run:

1. **Text** — Arabic sentence pairs labelled by people (Alian's paraphrase pairs, and
   SemEval-2017 STS Arabic with gold ≥ 3 as "the same"): ROC AUC, best F1 and Spearman's
   rho of qanat's text similarity and of ``qanat dedupe score``'s pair score, against
   rapidfuzz's ratio on the raw texts, the token set ratio qanat used before, and
   TF-IDF character 2–5-gram cosine fitted on the pairs' own texts (scikit-learn).
2. **Place × category × time** — a year of a city's 311 animal requests with the
   city's own duplicate closures, replayed in time order through qanat's candidate index
   and scorer with the default dedupe rules (requests the city closed leave the open
   set when they closed), against the plain rule "the same type, within 50 m or the
   same address, within 48 hours". Reported: the named originals found, links the city
   never made (false links) and their share of the city's non-duplicates, and
   suggestions (qanat shows them to staff; it links none of them). Also replayed with a
   pair model trained on qanat's own pairs, which is why qanat ships none.
3. **qanat's own labelled pairs** (written for qanat): precision, recall and AUC of the
   default table at its link threshold, and of a pair model scored out of fold at the
   threshold chosen for precision 0.97.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from qanat.dedupe.index import CandidateIndex, entry_of
from qanat.dedupe.pair_model import TRAINING_PAIRS, PairModel
from qanat.dedupe.pairs import Pair, pair_score
from qanat.dedupe.rules import DedupeRules
from qanat.dedupe.similarity import Report, combined_score, metres_between
from qanat.dedupe.text import meaningful_words, text_similarity
from qanat.model import Location, Normalized, RoutingDecision
from qanat.normalize.location import extract_location
from qanat.normalize.text import match_form

HERE = Path(__file__).resolve().parent


def default_data() -> Path:
    """Where the public data sets are looked for."""
    return Path(os.environ.get("QANAT_BENCH_DATA", HERE.parent.parent / "shared" / "data"))


# --- figures ------------------------------------------------------------------------


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The chance a random positive scores above a random negative (ties count half)."""
    order = np.argsort(np.asarray(scores, dtype=float), kind="mergesort")
    ranked = np.asarray(scores, dtype=float)[order]
    ranks = np.empty(len(ranked))
    start = 0
    while start < len(ranked):  # average ranks of ties
        end = start
        while end + 1 < len(ranked) and ranked[end + 1] == ranked[start]:
            end += 1
        ranks[start : end + 1] = (start + end) / 2 + 1
        start = end + 1
    positive = np.asarray(labels)[order] == 1
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_f1(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The best F1 over every threshold."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    ranked, gold = np.asarray(scores, dtype=float)[order], np.asarray(labels)[order]
    true_pos = np.cumsum(gold)
    f1 = 2 * true_pos / (np.arange(1, len(gold) + 1) + gold.sum())
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    return float(f1[last_of_tie].max())


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation."""

    def ranks(values: Sequence[float]) -> np.ndarray:
        array = np.asarray(values, dtype=float)
        order = np.argsort(array, kind="mergesort")
        out = np.empty(len(array))
        out[order] = np.arange(len(array))
        for value in np.unique(array):  # ties share their mean rank
            tied = array == value
            out[tied] = out[tied].mean()
        return out

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


# --- 1. text --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPair:
    """Two sentences, whether people called them the same, and their graded score."""

    a: str
    b: str
    same: int
    grade: float


def alian_pairs(data: Path) -> list[TextPair]:
    """Alian's paraphrase benchmark (``;``-separated, ``p`` / ``np``)."""
    path = data / "ar-pairs" / "alian_paraphrase_benchmark.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    return [
        TextPair(r[0], r[1], int(r[4].strip() == "p"), float(r[2])) for r in rows if len(r) >= 5
    ]


def sts_pairs(data: Path) -> list[TextPair]:
    """SemEval-2017 STS Arabic–Arabic: gold 0–5; 3 or more counts as the same."""
    folder = data / "ar-pairs"
    lines = (folder / "sts2017_ar-ar.input.txt").read_text(encoding="utf-8-sig").splitlines()
    gold = (folder / "sts2017_ar-ar.gold.txt").read_text().split()
    pairs = []
    for line, grade in zip(lines, gold, strict=False):
        a, b = line.split("\t")[:2]
        pairs.append(TextPair(a, b, int(float(grade) >= 3), float(grade)))
    return pairs


def tfidf_cosine(pairs: list[TextPair]) -> list[float]:
    """The baseline: TF-IDF over character 2–5-grams fitted on the pairs' own texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [p.a for p in pairs] + [p.b for p in pairs]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    vectors.fit(texts)
    left, right = vectors.transform([p.a for p in pairs]), vectors.transform([p.b for p in pairs])
    return list(np.asarray(left.multiply(right).sum(axis=1)).ravel())


def _unrouted(_normalized: Normalized, category: str | None) -> RoutingDecision:
    return RoutingDecision(department="general", category=category, reason="bench")


def text_section(name: str, pairs: list[TextPair]) -> None:
    """Print AUC, best F1 and rho of each scorer on ``pairs``."""
    forms = [(match_form(p.a), match_form(p.b)) for p in pairs]
    scorers: dict[str, Callable[[], list[float]]] = {
        "baseline: ratio, raw texts": lambda: [fuzz.ratio(p.a, p.b) for p in pairs],
        "baseline: token set (qanat before)": lambda: [
            fuzz.token_set_ratio(meaningful_words(a), meaningful_words(b)) for a, b in forms
        ],
        "baseline: TF-IDF char 2-5 cosine": lambda: tfidf_cosine(pairs),
        "qanat text similarity": lambda: [text_similarity(a, b) for a, b in forms],
        "qanat dedupe score (no router)": lambda: [
            pair_score(Pair(text_a=p.a, text_b=p.b), route=_unrouted) for p in pairs
        ],
    }
    same, grades = [p.same for p in pairs], [p.grade for p in pairs]
    print(f"\n{name}: {len(pairs)} pairs, {sum(same)} the same")
    print(f"  {'scorer':38s} {'ROC AUC':>8s} {'best F1':>8s} {'rho':>7s}")
    for label, scorer in scorers.items():
        scores = scorer()
        auc, f1, rho = roc_auc(scores, same), best_f1(scores, same), spearman(scores, grades)
        print(f"  {label:38s} {auc:8.3f} {f1:8.3f} {rho:7.3f}")


# --- 2. place × category × time -------------------------------------------------------

_NAMED_ORIGINAL = re.compile(r"(?:duplicate|case number)\D{0,8}(1\d{11})", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """One city request as the replay reads it."""

    case: str
    opened: datetime
    closed: datetime | None
    kind: str
    address: str
    lat: float | None
    lon: float | None
    duplicate: bool  # the city closed it as a duplicate
    original: str | None  # …naming this earlier case


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip()[:19]).replace(tzinfo=UTC)
    except ValueError:
        return None


def city_requests(data: Path) -> list[Request]:
    """Boston's 2023 animal requests, in the order they were opened."""
    path = data / "boston311" / "2023_animal_reports.csv"
    requests = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            opened = _when(row["open_dt"])
            if opened is None:
                continue
            reason = row["closure_reason"] or ""
            named = _NAMED_ORIGINAL.search(reason) if "uplicate" in reason else None
            lat, lon = _coordinate(row["latitude"]), _coordinate(row["longitude"])
            requests.append(
                Request(
                    case=row["case_enquiry_id"],
                    opened=opened,
                    closed=_when(row["closed_dt"] or ""),
                    kind=row["type"],
                    address=row["location"] or "",
                    lat=lat,
                    lon=lon,
                    duplicate="duplicate" in reason.lower(),
                    original=named.group(1) if named else None,
                )
            )
    unique = {r.case: r for r in reversed(requests)}  # a case listed twice counts once
    return sorted(unique.values(), key=lambda r: (r.opened, r.case))


def _coordinate(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def report_of_request(request: Request) -> Report:
    """A request as qanat's pipeline would compare it: its type as text and category,
    its address and coordinates read as a channel's given location."""
    given = Location(address=request.address or None, lat=request.lat, lon=request.lon)
    location, _confidence = extract_location(request.kind, given)
    place = location or Location()
    return Report(
        match_text=match_form(request.kind),
        created_at=request.opened,
        category=request.kind,
        department="animal_control",
        block=place.block,
        road=place.road,
        building=place.building,
        lat=place.lat,
        lon=place.lon,
    )


@dataclass
class Tally:
    """What a duplicate finder did over the replay."""

    links: int = 0
    named_found: int = 0
    city_duplicates_linked: int = 0
    false_links: int = 0
    suggestions: int = 0


def _plain_rule(new: Request, earlier: list[Request]) -> str | None:
    """The plain rule: the same type, within 50 m or at the same address, within 48 h."""
    for old in reversed(earlier):
        if old.kind != new.kind or new.opened - old.opened > timedelta(hours=48):
            continue
        same_address = bool(new.address) and new.address == old.address
        near = False
        if None not in (new.lat, new.lon, old.lat, old.lon):
            a = Report(match_text="", created_at=new.opened, lat=new.lat, lon=new.lon)
            b = Report(match_text="", created_at=old.opened, lat=old.lat, lon=old.lon)
            near = (metres_between(a, b) or 1e9) <= 50
        if same_address or near:
            return old.case
    return None


def _count(tally: Tally, new: Request, linked_to: str | None, primary: dict[str, str]) -> None:
    """Count a decision; ``primary`` maps each case to the case it was filed under."""
    primary[new.case] = primary.get(linked_to or new.case, linked_to or new.case)
    if linked_to is None:
        return
    tally.links += 1
    if new.duplicate:
        tally.city_duplicates_linked += 1
    else:
        tally.false_links += 1


def replay(
    requests: list[Request], rules: DedupeRules, model: PairModel | None = None
) -> tuple[Tally, Tally]:
    """Both finders over the requests in time order, each with its own primaries (a
    linked request is not one); each finder's own time window bounds what it compares."""
    index = CandidateIndex()
    qanat, plain = Tally(), Tally()
    filed_qanat: dict[str, str] = {}
    filed_plain: dict[str, str] = {}
    open_plain: list[Request] = []
    for number, new in enumerate(requests):
        open_plain = [r for r in open_plain if new.opened - r.opened <= timedelta(hours=48)]
        report = report_of_request(new)
        match = index.best_match(
            report,
            threshold=rules.suggest_for(report.category, model),
            window=rules.window_for(report.category),
            radius=rules.radius_for(report.category),
            model=model,
        )
        linked = None
        if match is not None and match.score >= rules.threshold_for(report.category, model):
            linked = requests[match.ticket_id].case
        elif match is not None:
            qanat.suggestions += 1
        _count(qanat, new, linked, filed_qanat)
        if linked is None:
            index.put(number, entry_of(report))
        baseline = _plain_rule(new, open_plain)
        _count(plain, new, baseline, filed_plain)
        if baseline is None:
            open_plain.append(new)
    # A named original is found when it and its duplicate end up on one ticket, whichever
    # came first (the city sometimes names a request opened the same minute, after).
    for tally, filed in ((qanat, filed_qanat), (plain, filed_plain)):
        tally.named_found = sum(
            1
            for r in requests
            if r.original in filed and r.original != r.case and filed[r.original] == filed[r.case]
        )
    return qanat, plain


def place_section(requests: list[Request], trained: PairModel) -> None:
    """Print the finders' tallies."""
    cases = {r.case for r in requests}
    named = sum(1 for r in requests if r.original in cases and r.original != r.case)
    non_duplicates = sum(1 for r in requests if not r.duplicate)
    print(
        f"\ncity requests: {len(requests)}, closed as duplicates by the city: "
        f"{sum(r.duplicate for r in requests)}, naming an original in the file: {named}"
    )
    qanat, plain = replay(requests, DedupeRules())
    long, _plain = replay(requests, DedupeRules(window_days=14))
    learned, _plain = replay(requests, DedupeRules(), trained)
    print(f"  {'finder':44s} {'links':>6s} {'named found':>12s} {'false links':>12s} {'share':>7s}")
    finders = (
        ("baseline: plain rule (50 m, 48 h)", plain),
        ("qanat, default dedupe rules (2 days)", qanat),
        ("qanat, window_days: 14", long),
        ("qanat, pair model trained on qanat's pairs", learned),
    )
    for label, tally in finders:
        share = tally.false_links / non_duplicates
        found = f"{tally.named_found}/{named}"
        suggested = "" if tally is plain else f"  (+{tally.suggestions} suggested)"
        print(
            f"  {label:44s} {tally.links:6d} {found:>12s} {tally.false_links:12d} {share:7.1%}"
            + suggested
        )


# --- 3. qanat's own labelled pairs ---------------------------------------------------


def own_pairs_section() -> PairModel:
    """Print how the table and a pair model trained on qanat's pairs (scored out of fold)
    link qanat's own labelled pairs; return the model trained on all of them."""
    from qanat.dedupe.pairs import pair_evidence, read_pairs
    from qanat.dedupe.training import Example, choose_thresholds, measured, out_of_fold, train
    from qanat.router.decide import route
    from qanat.router.rules import load_rules

    rules = load_rules()

    def routed(normalized: Normalized, category: str | None) -> RoutingDecision:
        return route(normalized, rules=rules, category=category)

    examples = [
        Example(evidence=pair_evidence(pair, route=routed, rules=rules.dedupe), label=pair.label)
        for _n, pair in read_pairs(TRAINING_PAIRS)
        if isinstance(pair, Pair) and pair.label is not None
    ]
    labels = [e.label for e in examples]
    table = [combined_score(e.evidence) for e in examples]
    model = train(examples, source="qanat's pairs")
    folds = out_of_fold(examples, float(model.trained["penalty_c"]))
    link, _suggest = choose_thresholds(folds, labels)
    print(f"\nqanat's own labelled pairs: {len(examples)}, {sum(labels)} duplicates")
    print(f"  {'scorer':44s} {'link at':>8s} {'precision':>10s} {'recall':>7s} {'AUC':>6s}")
    for label, scores, threshold in (
        ("table (the default)", table, 55.0),
        ("pair model, out of fold", folds, link),
    ):
        got = measured(scores, labels, threshold)
        print(
            f"  {label:44s} {threshold:8g} {got['precision']:10.3f} {got['recall']:7.3f}"
            f" {got['auc']:6.3f}"
        )
    return model


def main(argv: list[str] | None = None) -> int:
    """Run every part whose data is there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    data = parser.parse_args(argv).data
    trained = own_pairs_section()
    if (data / "ar-pairs").is_dir():
        text_section("Alian paraphrase pairs", alian_pairs(data))
        text_section("STS 2017 Arabic (gold >= 3)", sts_pairs(data))
    else:
        print(f"text: skipped, no {data / 'ar-pairs'}")
    if (data / "boston311").is_dir():
        place_section(city_requests(data), trained)
    else:
        print(f"place: skipped, no {data / 'boston311'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
