"""JSON columns are written with orjson, and what orjson refuses the standard way."""

from __future__ import annotations

import json

from agentdeck.db.engine import json_dumps


def test_json_columns_serialise_like_the_standard_library() -> None:
    value = {"a": [1, 2.5, "é", None, True], 3: {"nested": []}}
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


def test_integers_past_64_bits_still_serialise() -> None:
    assert json.loads(json_dumps({"big": 2**70})) == {"big": 2**70}
