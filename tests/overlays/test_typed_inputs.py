"""The generated TypedDicts: they follow openapi.yaml, and mypy catches a misspelt key with them.

The mypy test checks one file of right uses (TypedDicts, attrs models, parsed JSON) and one of
wrong ones, each wrong line tagged with the error it must get, in a single mypy run. Where the
context is the union of a TypedDict and an attrs model (the client methods), mypy names the item
rather than the key; a dict annotated with the TypedDict, and the bulk helpers, get the key.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import jiguang_growth
from jiguang_growth import _params
from jiguang_growth_generated import params

ROOT = Path(__file__).resolve().parents[2]
MYPY = Path(sys.executable).parent / "mypy"

RIGHT = """
import json
from jiguang_growth import EventParam, GrowthClient, UserChannelsParam, bulk
from jiguang_growth_generated.models import Event

def use(client: GrowthClient, line: str, levels: dict[str, int]) -> None:
    event: EventParam = {"cuid": 1, "eventName": "open_app", "itime": 1700000000000}
    client.report_events([event, {"cuid": 2, "eventName": "buy", "itime": 1, "properties": {"n": 2}}])
    client.report_events([Event(cuid=1, event_name="open_app", itime=1700000000000)])
    client.report_events([json.loads(line)])
    client.set_user_attributes(1, {"user_level": 3, "tags": ["a"]})
    client.set_user_attributes(1, levels)
    channels: list[UserChannelsParam] = [{"cuid": 1, "channels": [{"id": 7, "channelValues": {"x": "1"}}]}]
    client.set_user_channels(channels)
    bulk.report_events(client, [event])
    bulk.set_user_attributes(client, [{"cuid": 1, "data": {"user_level": 3}}])
    bulk.set_user_channels(client, channels)
"""

WRONG = """
from jiguang_growth import AsyncGrowthClient, EventParam, GrowthClient, bulk

async def use(client: GrowthClient, aclient: AsyncGrowthClient) -> None:
    client.report_events([{"cuid": 1, "eventname": "open_app", "itime": 1}])  # E: List item 0
    client.report_events([{"cuid": 1, "itime": 1}])  # E: List item 0
    client.report_events([{"cuid": "1", "eventName": "open_app", "itime": 1}])  # E: List item 0
    await aclient.report_events([{"cuid": 1, "eventName": "x", "itime": 1, "props": {}}])  # E: List item 0
    client.set_user_attributes(1, {"user_level": object()})  # E: "object"
    client.set_user_channels([{"cuid": 1, "channel": []}])  # E: List item 0
    bulk.report_events(client, [{"cuid": 1, "eventname": "x", "itime": 1}])  # E: Extra key "eventname"
    bulk.set_user_attributes(client, [{"cuid": 1, "date": {}}])  # E: Extra key "date"
    event: EventParam = {"cuid": 1, "eventName": "x", "itime": 1, "randomid": "r"}  # E: Extra key "randomid"
"""


def _mypy(folder: Path) -> dict[tuple[str, int], str]:
    """mypy --strict on the folder's files: the error text of each (file, line)."""
    cache = ROOT / "build" / "mypy-typed-inputs"
    done = subprocess.run(
        [str(MYPY), "--strict", "--no-error-summary", "--cache-dir", str(cache), "right.py", "wrong.py"],
        cwd=folder,
        env={"MYPYPATH": f"{ROOT / 'overlays'}:{ROOT / 'generated'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    found: dict[tuple[str, int], str] = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(\w+\.py):(\d+): (error|note): (.*)$", line)
        assert match, f"unexpected mypy output: {line}\n{done.stdout}{done.stderr}"
        key = (match.group(1), int(match.group(2)))
        found[key] = found.get(key, "") + match.group(4) + "\n"
    return found


def test_mypy_accepts_every_kind_of_input_and_catches_each_wrong_key(tmp_path: Path) -> None:
    (tmp_path / "right.py").write_text(RIGHT, encoding="utf-8")
    (tmp_path / "wrong.py").write_text(WRONG, encoding="utf-8")
    found = _mypy(tmp_path)
    assert not {key: text for key, text in found.items() if key[0] == "right.py"}
    for number, line in enumerate(WRONG.splitlines(), start=1):
        if "# E: " in line:
            expected = line.split("# E: ")[1]
            assert expected in found.get(("wrong.py", number), ""), (line, found)
    expected_lines = {n for n, line in enumerate(WRONG.splitlines(), start=1) if "# E: " in line}
    assert {n for file, n in found if file == "wrong.py"} == expected_lines


def _spec_schemas() -> dict[str, typing.Any]:
    from jiguang_growth import _spec

    return dict(_spec.spec()["components"]["schemas"])


def test_every_object_schema_of_the_spec_has_a_typed_dict_with_its_properties() -> None:
    for name, schema in _spec_schemas().items():
        if schema.get("type") == "object" and "properties" in schema:
            typed = getattr(params, name)
            assert typing.is_typeddict(typed), name
            keys = set(typed.__required_keys__ | typed.__optional_keys__)
            assert set(schema["properties"]) <= keys, name
            assert set(schema.get("required", [])) <= set(typed.__required_keys__), name


def test_the_public_names_are_the_generated_typed_dicts() -> None:
    assert jiguang_growth.EventParam is params.Event
    assert jiguang_growth.UserChannelsParam is params.UserChannels
    assert jiguang_growth.ChannelParam is params.Channel
    assert jiguang_growth.SetUserAttributesParam is params.SetUserAttributesRequest
    assert typing.get_args(jiguang_growth.UserAttributesParam)[1] == params.UserAttributeValue
    assert frozenset(_params.__all__) == jiguang_growth._PARAMS


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="EventParams"):
        jiguang_growth.EventParams  # type: ignore[attr-defined]
