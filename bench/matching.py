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
   Also pairs of real Saudi-dialect service requests (ArBanking77's test set) of one
   intent or of two, drawn with a fixed seed (rho there is against the same 1 / 0).
2. **Place × category × time** — a year of a city's 311 animal requests with the
   city's own duplicate closures, replayed in time order through qanat's candidate index
   and scorer with the default dedupe rules (each finder compares what its own time
   window holds), against the plain rule "the same type, within 50 m or the same
   address, within 48 hours", and counted as ``qanat dedupe replay`` counts: the named
   originals found, links the city never made (false links) and their share of the
   city's non-duplicates, and
   suggestions (qanat shows them to staff; it links none of them). Also replayed with a
   pair model trained on qanat's own pairs, which is why qanat ships none.
3. **qanat's own labelled pairs** (written for qanat): precision, recall and AUC of the
   default table at its link threshold, and of a pair model scored out of fold at the
   threshold chosen for precision 0.97.
4. **Routing** (``bench/routing.py``; ``--no-routing`` leaves it out): the learned router
   against TF-IDF + logistic regression trained and scored in the same run.
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
from qanat.dedupe.replay import Label, Tally, tally
from qanat.dedupe.rules import DedupeRules
from qanat.dedupe.similarity import Report, combined_score, metres_between
from qanat.dedupe.text import meaningful_words, text_similarity
from qanat.dedupe.training import roc_auc
from qanat.model import Location, Normalized, RoutingDecision
from qanat.normalize.location import extract_location
from qanat.normalize.text import match_form
from qanat.router.rules import load_rules

HERE = Path(__file__).resolve().parent


def default_data() -> Path:
    """Where the public data sets are looked for."""
    return Path(os.environ.get("QANAT_BENCH_DATA", HERE.parent.parent / "shared" / "data"))


# --- figures ------------------------------------------------------------------------


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


def intent_pairs(data: Path, count: int = 1500, seed: int = 7) -> list[TextPair]:
    """Pairs of real Saudi-dialect service requests (ArBanking77's test set): two of one
    intent ("the same") and, for each, the first beside one of another intent — asked
    alike, often in the same words, about another thing. Drawn with a fixed seed."""
    import random

    path = data / "arbanking77" / "Banking77_Arabized_Saudi_test.csv"
    by_intent: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent.setdefault(row["label"], []).append(row["text"])
    intents = sorted(name for name, texts in by_intent.items() if len(texts) >= 2)
    draw = random.Random(seed)
    pairs = []
    for _ in range(count):
        intent = draw.choice(intents)
        first, second = draw.sample(by_intent[intent], 2)
        other = draw.choice([name for name in intents if name != intent])
        pairs.append(TextPair(first, second, 1, 1.0))
        pairs.append(TextPair(first, draw.choice(by_intent[other]), 0, 0.0))
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


def _plain_rule(new: Request, earlier: list[tuple[int, Request]]) -> int | None:
    """The plain rule: the same type, within 50 m or at the same address, within 48 h;
    the latest such request's number."""
    for number, old in reversed(earlier):
        if old.kind != new.kind or new.opened - old.opened > timedelta(hours=48):
            continue
        same_address = bool(new.address) and new.address == old.address
        near = False
        if None not in (new.lat, new.lon, old.lat, old.lon):
            a = Report(match_text="", created_at=new.opened, lat=new.lat, lon=new.lon)
            b = Report(match_text="", created_at=old.opened, lat=old.lat, lon=old.lon)
            near = (metres_between(a, b) or 1e9) <= 50
        if same_address or near:
            return number
    return None


def _tallied(requests: list[Request], primary_of: dict[int, int], suggestions: int) -> Tally:
    """The finder's links against the city's labels, counted as ``qanat dedupe replay``
    counts them (a named original is found when both end up on one ticket, whichever
    came first: the city sometimes names a request opened the same minute, after)."""
    labels = {r.case: Label(r.duplicate, r.original) for r in requests}
    filed = {r.case: number for number, r in enumerate(requests)}
    return tally(labels, filed, primary_of, suggestions)


def replay_qanat(
    requests: list[Request], rules: DedupeRules, model: PairModel | None = None
) -> Tally:
    """qanat's candidate index and scorer over the requests in time order (a linked
    request is no primary)."""
    index = CandidateIndex()
    primary_of: dict[int, int] = {}
    suggestions = 0
    for number, new in enumerate(requests):
        report = report_of_request(new)
        match = index.best_match(
            report,
            threshold=rules.suggest_for(report.category, model),
            window=rules.window_for(report.category),
            radius=rules.radius_for(report.category),
            model=model,
        )
        if match is not None and match.score >= rules.threshold_for(report.category, model):
            primary_of[number] = match.ticket_id  # the index holds primaries only
            continue
        suggestions += match is not None
        primary_of[number] = number
        index.put(number, entry_of(report))
    return _tallied(requests, primary_of, suggestions)


def replay_plain(requests: list[Request]) -> Tally:
    """The plain rule over the requests in time order."""
    primary_of: dict[int, int] = {}
    open_plain: list[tuple[int, Request]] = []
    for number, new in enumerate(requests):
        open_plain = [(n, r) for n, r in open_plain if new.opened - r.opened <= timedelta(hours=48)]
        found = _plain_rule(new, open_plain)
        primary_of[number] = number if found is None else found
        if found is None:
            open_plain.append((number, new))
    return _tallied(requests, primary_of, 0)


def place_section(requests: list[Request], trained: PairModel) -> None:
    """Print the finders' tallies."""
    print(
        f"\ncity requests: {len(requests)}, closed as duplicates by the city: "
        f"{sum(r.duplicate for r in requests)}"
    )
    plain = replay_plain(requests)
    finders = (
        ("baseline: plain rule (50 m, 48 h)", plain),
        ("qanat, default dedupe rules (2 days)", replay_qanat(requests, DedupeRules())),
        ("qanat, window_days: 14", replay_qanat(requests, DedupeRules(window_days=14))),
        # What `qanat dedupe replay` uses unless told otherwise: the sample's 14 days are
        # for its own categories, and a city's are not among them.
        ("qanat, the shipped sample rules", replay_qanat(requests, load_rules().dedupe)),
        ("qanat, pair model trained on qanat's pairs",
         replay_qanat(requests, DedupeRules(), trained)),
    )  # fmt: skip
    print(f"  {'finder':44s} {'links':>6s} {'named found':>12s} {'false links':>12s} {'share':>7s}")
    for label, found in finders:
        figures = found.as_dict()
        named = f"{found.named_found}/{found.named}"
        suggested = "" if found is plain else f"  (+{found.suggestions} suggested)"
        print(
            f"  {label:44s} {found.links:6d} {named:>12s} {found.false_links:12d}"
            f" {figures['false_link_share']:7.1%}" + suggested
        )


# --- 3. qanat's own labelled pairs ---------------------------------------------------


def own_pairs_section() -> PairModel:
    """Print how the table and a pair model trained on qanat's pairs (scored out of fold)
    link qanat's own labelled pairs; return the model trained on all of them."""
    from qanat.dedupe.pairs import pair_evidence, read_pairs
    from qanat.dedupe.training import Example, choose_thresholds, measured, out_of_fold, train
    from qanat.router.decide import route

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
    parser.add_argument(
        "--no-routing", action="store_true", help="leave out routing (ArBanking77 takes minutes)"
    )
    args = parser.parse_args(argv)
    data = args.data
    trained = own_pairs_section()
    if (data / "ar-pairs").is_dir():
        text_section("Alian paraphrase pairs", alian_pairs(data))
        text_section("STS 2017 Arabic (gold >= 3)", sts_pairs(data))
    else:
        print(f"text: skipped, no {data / 'ar-pairs'}")
    if (data / "arbanking77").is_dir():
        text_section("ArBanking77 Saudi requests, same intent or another", intent_pairs(data))
    else:
        print(f"intents: skipped, no {data / 'arbanking77'}")
    if (data / "boston311").is_dir():
        place_section(city_requests(data), trained)
    else:
        print(f"place: skipped, no {data / 'boston311'}")
    if not args.no_routing:
        from routing import routing_report  # bench/routing.py, beside this file

        print("\nrouting (bench/routing.py)")
        for line in routing_report(data):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
