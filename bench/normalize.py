"""Normalize throughput: messages per second, on one core, for a realistic bilingual mix.

In one run: the text part alone (match form + language) and the whole ``normalize()``
(identity, place, kind, thread hints too), against the target of 20,000 messages/s for
the text part. With ``--arsarcasm PATH`` (the ArSarcasm CSV from ../shared/data), also
on ~10,000 real Arabic tweets: no crash, idempotent match form, language distribution.

    python bench/normalize.py [--n 50000] [--arsarcasm ../shared/data/arsarcasm/ArSarcasm_train.csv]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from qanat.model import Inbound, Sender
from qanat.normalize import normalize
from qanat.normalize.text import language_of_match, match_form

MIX = [
    "طفح مجاري في مجمع ٣٠٥ طريق ٤٥ من يومين والريحة ما تنطاق 😡 @MoW_Bahrain",
    "Huge pothole on Road 915, Block 904, Riffa. Two cars got flat tyres this morning.",
    "عمود الإنارة طايح في طريق 2811 مجمع 1208 مدينة حمد والأسلاك مكشوفة!!!",
    "الزبالة متراكمة في سترة من أسبوع، الله يعطيكم العافية شيلوها جداااا",
    "After the works on Road 5305 الشارع كله حفر @MoW_Bahrain https://t.co/x1y2",
    "3ndna mushkila fi al share3 block 1012, fi 7ufra kbeera",
    "السلام عليكم، أقترح إنشاء ممشى رياضي حول الحديقة في مجمع 815 بمدينة عيسى",
    "كيف أقدر أقدم طلب رخصة بناء؟ اتصلت على ١٧١٢٣٤٥٦ وما أحد رد",
]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10,.0f} messages/s"


def run_mix(n: int) -> None:
    texts = [MIX[i % len(MIX)] + f" {i}" for i in range(n)]
    started = time.perf_counter()
    for text in texts:
        language_of_match(match_form(text))
    text_part = time.perf_counter() - started
    inbounds = [
        Inbound(
            channel="sms",
            external_id=str(i),
            received_at=datetime(2026, 11, 2, tzinfo=UTC),
            sender=Sender(handle="+97333445566"),
            text=text,
        )
        for i, text in enumerate(texts[: n // 5])
    ]
    started = time.perf_counter()
    for inbound in inbounds:
        normalize(inbound)
    whole = time.perf_counter() - started
    print(f"mix: {n} texts")
    print(f"  text part (match form + language): {rate(n, text_part)}  (target 20,000)")
    print(f"  whole normalize():                 {rate(len(inbounds), whole)}")


def run_arsarcasm(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        tweets = [row["tweet"] for row in csv.DictReader(handle)]
    languages: Counter[str] = Counter()
    started = time.perf_counter()
    not_idempotent = 0
    for tweet in tweets:
        once = match_form(tweet)
        not_idempotent += match_form(once) != once
        languages[language_of_match(once)] += 1
    seconds = time.perf_counter() - started
    print(f"arsarcasm: {len(tweets)} real tweets, {rate(len(tweets), seconds)} (match form twice)")
    print(f"  not idempotent: {not_idempotent}; languages: {dict(languages.most_common())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--arsarcasm", type=Path)
    args = parser.parse_args()
    run_mix(args.n)
    if args.arsarcasm and args.arsarcasm.exists():
        run_arsarcasm(args.arsarcasm)
    elif args.arsarcasm:
        print(f"arsarcasm: {args.arsarcasm} not found, skipped")


if __name__ == "__main__":
    main()
