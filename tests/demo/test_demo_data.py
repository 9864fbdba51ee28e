"""The packaged demo file is a valid, coherent import: what `qanat demo` loads."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

import phonenumbers
import pytest

from qanat.demo import demo_messages_path
from qanat.model import Inbound

NINE_CHANNELS = {
    "x",
    "telegram",
    "email",
    "sms",
    "call_centre",
    "web",
    "app",
    "majlis",
    "field_visit",
}
# An ISO 8601 time that states its own offset (Z or ±HH:MM), never a naive one.
EXPLICIT_OFFSET = re.compile(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
TICKET_REFERENCE = re.compile(r"QN-(\d{4})-(\d{6})")

# Different citizens reporting the same problem (dedupe should link each group to one
# primary), as "channel:external_id"; each key starts with the block all members name.
DUPLICATE_GROUPS: dict[str, tuple[str, ...]] = {
    "block 305 road 524 Manama: sewage overflow by the bakery": (
        "x:2117448780127227909",
        "sms:SMd7cf6870a4007583e4dae1a669d65996",
        "call_centre:CALL-20261103-0050",
        "email:<20261103045000.B8AED5F22@mx.example.net>",
        "x:2117487179918573599",
        "web:WEB-2026-018278",
        "telegram:7012448891:878",
        "app:APP-00040685",
    ),
    "block 1208 road 45 Hamad Town: fallen street-lighting pole near roundabout 13": (
        "x:2118445791944347711",
        "call_centre:CALL-20261106-0049",
        "sms:SM2ae1aecc29c255e5678acdfa3526284b",
        "telegram:8123390045:466",
        "field_visit:FV-2026-11-06-01",
    ),
    "block 904 road 915 Riffa: large pothole": (
        "x:2119281411583512629",
        "web:WEB-2026-018476",
        "email:<20261108100056.0111A972D@mx.example.com>",
        "sms:SMb88e8568bf526a38ff03827278a83e5f",
    ),
    "block 807 road 716 Isa Town: open manhole at the girls' school (urgent)": (
        "call_centre:CALL-20261110-0074",
        "x:2120008671474458675",
        "app:APP-00040855",
        "field_visit:FV-2026-11-10-01",
    ),
    "block 209 road 944 Muharraq: derelict house about to collapse": (
        "email:<E1107F04-81C5-410E-DA8E-9C619FC5E434@example.net>",
        "majlis:MJ-2026-11-09-01",
        "call_centre:CALL-20261110-0117",
        "field_visit:FV-2026-11-11-01",
    ),
    "block 609 road 937 Sitra: rubbish not collected for a week": (
        "sms:SM74ec4b42cdd4775c9ba96258f76a5f6f",
        "x:2120207589989138457",
        "web:WEB-2026-018656",
        "telegram:7390021456:646",
        "field_visit:FV-2026-11-11-02",
        "app:APP-00040953",
    ),
    "block 552 road 5235 Budaiya: whole road's street lights off": (
        "x:2120557369915052058",
        "web:WEB-2026-018664",
        "app:APP-00041021",
    ),
    "block 435 road 3520 Jidhafs: dead cat in the street": (
        "sms:SM1a9dbb4258aec5473349c871ebb1d106",
        "call_centre:CALL-20261104-0059",
    ),
    "block 410 roads 31/1011 Sanabis: traffic signal dead after rain": (
        "x:2121092017066942487",
        "call_centre:CALL-20261113-0114",
        "telegram:6120458873:801",
    ),
    "block 527 road 3127 building 2318 Saar: third floor built without permit": (
        "email:<CADkyybmo3mrcmXg9HEL1hlPDmloGMP-DdREbmycfzli2I@mail.example.com>",
        "web:WEB-2026-018461",
    ),
    "block 226 Busaiteen: park playground broken, sharp slide": (
        "telegram:5071934420:417",
        "x:2121615530234339336",
        "app:APP-00041173",
        "field_visit:FV-2026-11-17-01",
    ),
    "block 710 road 1015 Tubli: rainwater flooding": (
        "x:2120972483023142954",
        "sms:SM592774cc9596b3dd61bb40912601a0eb",
        "call_centre:CALL-20261113-0070",
        "field_visit:FV-2026-11-13-01",
    ),
    "block 338 road 3803 Adliya: tree fallen across the pavement": (
        "x:2122185527383568444",
        "call_centre:CALL-20261116-0044",
        "app:APP-00041249",
        "sms:SM0c6a792e1d669ce2df3ddae462650e3c",
    ),
    "block 111 road 1120 Hidd: blocked drain and sewage smell": (
        "email:<9113CD65-C301-D7D2-F821-70DCE5C6E41B@example.com>",
        "sms:SMb0d64e3916dc40a3a4228dc8f49ae322",
        "x:2122726584020787233",
    ),
    "block 341 road 4109 Juffair: bad road reinstatement after cable works": (
        "x:2122917903977742338",
        "web:WEB-2026-018797",
        "email:<CAmUdbJX+jNi7ed96sXYNLG9Hn8HrAotc4cuGaS5wWjI5J@mail.towerx.example>",
        "call_centre:CALL-20261118-0036",
    ),
    "block 1204 road 4117 Hamad Town: sewage leak from a manhole (app + field visit)": (
        "app:APP-00040464",
        "field_visit:FV-2026-11-04-01",
    ),
    "block 215 road 1025 Muharraq: exposed cables at a lighting pole by a school": (
        "call_centre:CALL-20261107-0084",
        "email:<CABIBRLsmQeUtYnu9XVo-U5_Ge7j+FwhRPMqJ72Jcj5DAO@mail.example.com>",
    ),
    "block 431 road 3114 Jidhafs: construction waste dumped at night": (
        "telegram:920341187:165",
        "call_centre:CALL-20261104-0086",
    ),
    "block 1213 roads 1322/1324 Hamad Town: street lights out": (
        "x:2119146748739022871",
        "field_visit:FV-2026-11-05-02",
    ),
    "block 214 road 1425 Muharraq: leaning cracked wall of an old house": (
        "telegram:1094452218:94",
        "call_centre:CALL-20261104-0045",
    ),
    "block 815 Isa Town: rainwater at the school street / school gate": (
        "telegram:8450012377:473",
        "email:<CAf1mAeukr89l1nyhBFFPvRWe66wEx_HG24B0or5xfQpNh@mail.isagirls.example>",
    ),
    "block 304 road 403 Manama: old building shedding concrete from balconies": (
        "web:WEB-2026-018352",
        "x:2118701343768920083",
    ),
    "block 636 road 626 building 442 Sitra: house for the dilapidated-houses programme": (
        "majlis:MJ-2026-11-16-03",
        "field_visit:FV-2026-11-18-01",
    ),
    "block 1213 road 1322 Hamad Town: potholes on the inner road": (
        "telegram:8852003194:288",
        "majlis:MJ-2026-11-16-04",
    ),
    "block 1053 Zallaq: stalled sewage works, street left dug up": (
        "call_centre:CALL-20261108-0053",
        "telegram:7012556630:611",
    ),
    "block 935 road 3517 Riffa: potholes on the inner road": (
        "sms:SM46e76c1a1fbfaedf09774ef5a8d47c97",
        "field_visit:FV-2026-11-15-01",
    ),
    "block 332 road 2810 Manama: rodents around overflowing bins": (
        "majlis:MJ-2026-11-02-04",
        "field_visit:FV-2026-11-05-01",
    ),
}
# Different problems in a block that has a group above, or the same kind of problem in
# another block: none of these may be linked into a group.
NEAR_MISSES: dict[str, str] = {
    "web:WEB-2026-018258": "block 552: road resurfacing, not the street lights",
    "web:WEB-2026-018312": "block 305: a pothole on road 530, not the sewage",
    "email:<B69CA8A5-E550-3C4E-0138-7683E9F869B5@example.net>": (
        "sewage overflow the same evening as block 305, but in block 324 Juffair"
    ),
    "call_centre:CALL-20261104-0036": (
        "sewage in Hamad Town, but block 1206, not the block 1204 leak"
    ),
    "telegram:6401278830:206": "block 1208: garbage, not the fallen pole",
    "x:2119694013550051332": "block 904: street lights on road 927, not the pothole",
    "majlis:MJ-2026-11-09-02": "block 1208: general lighting maintenance, not the fallen pole",
    "sms:SM47b66e5361ec5bd3732b03674a00f77c": (
        "block 305: street lights on road 518, not the sewage"
    ),
    "x:2120464237343297569": "block 904: another pothole but on road 931 at the health centre",
    "app:APP-00041037": (
        "block 1208 road 4507: a burnt bin, not the uncollected rubbish (telegram, 6 Nov)"
    ),
    "sms:SMcfd86202bd53ce66ad09a81cb4aae255": (
        "block 410: rainwater on road 1023, not the traffic signal"
    ),
    "x:2121121001974382597": (
        "rainwater the same morning as block 710 Tubli, but in Muharraq block 207"
    ),
    "web:WEB-2026-018726": (
        "rainwater the same morning as block 710 Tubli, but in Hamad Town block 1212"
    ),
    "app:APP-00041059": "block 1204: rainwater, not the sewage leak",
    "sms:SMe6bae5fe94178399df55220d543707fd": "block 609: a pothole, not the garbage",
    "call_centre:CALL-20261115-0099": "block 338: oil dumped into a drain, not the fallen tree",
    "majlis:MJ-2026-11-16-02": "block 1053: a new link road, not the stalled sewage works",
    "call_centre:CALL-20261118-0066": (
        "street lights in block 433, not the block 434 case (telegram, 1 Nov)"
    ),
    "web:WEB-2026-018950": (
        "block 324 road 2419: a broken bin, not the collection frequency (app, 4 Nov)"
    ),
    "call_centre:CALL-20261107-0051": (
        "block 1053: pumping one septic tank, not the stalled sewage works"
    ),
    "email:<7BA69BDF-3B49-E21D-AC6A-0EFCE052ABAD@example.com>": (
        "block 527: a zoning inquiry, not the illegal floor"
    ),
    "sms:SM324303916d51c95093f978f3263fbba8": (
        "block 817 road 1712: a water main leak, not the flickering lights (web, 5 Nov)"
    ),
    "call_centre:CALL-20261112-0027": (
        "block 1217: moving a pole on road 1748, not the missing lights on road 1750"
    ),
    "call_centre:CALL-20261115-0062": (
        "block 341: site waste water, not the noise and not the road 4109 surface"
    ),
}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    """The demo file's lines, as `qanat import` reads them."""
    return demo_messages_path().read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def raw(lines: list[str]) -> list[dict[str, Any]]:
    """Each line as plain JSON, to check what the file itself says."""
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def messages(lines: list[str]) -> list[Inbound]:
    """Each line as the pipeline's record."""
    return [Inbound.model_validate_json(line) for line in lines]


def test_every_line_is_an_inbound_record(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        assert line.strip(), f"line {number} is blank"
        Inbound.model_validate_json(line)


def test_the_set_is_big_enough_to_show_the_inbox(messages: list[Inbound]) -> None:
    assert len(messages) >= 200


def test_all_nine_channels_are_present_with_a_fair_share(messages: list[Inbound]) -> None:
    per_channel = Counter(message.channel for message in messages)
    assert set(per_channel) == NINE_CHANNELS
    assert min(per_channel.values()) >= 10, per_channel


def test_external_ids_are_unique_per_channel_and_account(messages: list[Inbound]) -> None:
    keys = Counter((m.channel, m.account, m.external_id) for m in messages)
    repeated = [key for key, count in keys.items() if count > 1]
    assert repeated == []


def test_received_at_states_its_offset_and_runs_in_file_order(
    raw: list[dict[str, Any]], messages: list[Inbound]
) -> None:
    for record in raw:
        assert EXPLICIT_OFFSET.search(record["received_at"]), record["received_at"]
    times = [message.received_at for message in messages]
    assert times == sorted(times), "the file is processed in order, so it must be in time order"
    assert times[0] >= datetime.fromisoformat("2026-11-01T00:00:00+03:00")
    assert times[-1] < datetime.fromisoformat("2026-11-22T00:00:00+03:00")


def test_every_reply_names_an_earlier_message_of_the_same_sender(
    messages: list[Inbound],
) -> None:
    earlier: dict[tuple[str, str, str], str] = {}
    replies = 0
    for message in messages:
        for replied_id in message.in_reply_to:
            key = (message.channel, message.account, replied_id)
            assert key in earlier, f"{message.external_id} replies to unknown {replied_id}"
            assert earlier[key] == message.sender.handle, message.external_id
            replies += 1
        earlier[(message.channel, message.account, message.external_id)] = message.sender.handle
    assert replies >= 15


def test_quoted_references_point_at_the_senders_own_first_tickets(
    messages: list[Inbound],
) -> None:
    # References are handed out in file order; before the first follow-up every
    # message opens its own ticket, so QN-2026-N is the N-th line there.
    first_reply = next(i for i, m in enumerate(messages) if m.in_reply_to)
    quotes = 0
    for message in messages:
        for year, number in TICKET_REFERENCE.findall(message.text):
            index = int(number) - 1
            assert year == "2026" and index < first_reply, message.external_id
            quoted = messages[index]
            assert (quoted.channel, quoted.sender.handle) == (
                message.channel,
                message.sender.handle,
            )
            assert quoted.received_at < message.received_at
            quotes += 1
    assert quotes >= 1


def test_block_representatives_say_who_and_which_block(messages: list[Inbound]) -> None:
    for message in (m for m in messages if m.channel == "app"):
        assert message.metadata.get("representative"), message.external_id
        assert re.fullmatch(r"\d{3,4}", message.metadata.get("block", "")), message.external_id


def test_coordinates_fall_in_bahrain(messages: list[Inbound]) -> None:
    located = [m.location for m in messages if m.location and m.location.lat is not None]
    assert len(located) >= 20
    for location in located:
        assert location.lat is not None and location.lon is not None
        assert 25.9 <= location.lat <= 26.35 and 50.4 <= location.lon <= 50.7


def test_phone_numbers_are_bahraini_whatever_their_spelling(messages: list[Inbound]) -> None:
    spellings = set()
    for message in (m for m in messages if m.sender.phone):
        assert message.sender.phone is not None
        number = phonenumbers.parse(message.sender.phone, "BH")
        assert phonenumbers.is_valid_number(number), message.sender.phone
        assert number.country_code == 973
        spellings.add(re.sub(r"\d", "9", message.sender.phone))
    assert len(spellings) >= 4, "mixed formats: +973…, 973…, local, spaced, Arabic-Indic"


def test_some_citizens_use_several_channels(messages: list[Inbound]) -> None:
    channels: dict[str, set[str]] = {}
    for message in messages:
        for value in (message.sender.email, message.sender.phone):
            if value is None:
                continue
            if "@" in value:
                key = value.casefold()
            else:
                parsed = phonenumbers.parse(value, "BH")
                key = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            channels.setdefault(key, set()).add(message.channel)
    assert sum(1 for seen in channels.values() if len(seen) >= 2) >= 6


def test_unknown_category_codes_are_carried_as_given(raw: list[dict[str, Any]]) -> None:
    categories = {record.get("category") for record in raw} - {None}
    assert "legacy_77" in categories
    assert {"pothole", "sewage_overflow", "street_light_out", "garbage"} <= categories


def test_emails_have_subjects_and_message_ids(messages: list[Inbound]) -> None:
    for message in (m for m in messages if m.channel == "email"):
        assert message.subject, message.external_id
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message.external_id), message.external_id


def _by_key(messages: list[Inbound]) -> dict[str, Inbound]:
    return {f"{m.channel}:{m.external_id}": m for m in messages}


def _arabic_indic_to_latin(text: str) -> str:
    return text.translate({0x0660 + digit: str(digit) for digit in range(10)})


def test_duplicate_groups_are_different_citizens_on_the_same_problem(
    messages: list[Inbound],
) -> None:
    by_key = _by_key(messages)
    assert len(DUPLICATE_GROUPS) >= 12
    for problem, members in DUPLICATE_GROUPS.items():
        block = problem.split()[1]
        group = [by_key[key] for key in members]
        assert 2 <= len(group) <= 8, problem
        assert len({m.sender.handle for m in group}) == len(group), problem
        assert len({m.channel for m in group}) >= 2, problem
        for message in group:
            named = re.search(rf"\b{block}\b", _arabic_indic_to_latin(message.text))
            located = message.location is not None and message.location.block == block
            assert named or located, (problem, message.external_id)
            assert message.in_reply_to == [], "a reply is a follow-up, not a duplicate"
        span = max(m.received_at for m in group) - min(m.received_at for m in group)
        assert span.days <= 10, problem


def test_near_misses_stay_outside_every_group(messages: list[Inbound]) -> None:
    by_key = _by_key(messages)
    grouped = {key for members in DUPLICATE_GROUPS.values() for key in members}
    assert len(NEAR_MISSES) >= 10
    for key in NEAR_MISSES:
        assert key in by_key and key not in grouped, key
