"""The database's column text: JSON columns written by orjson, and what orjson refuses still written
(synthetic values: edge cases of the encoder, not market data)."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest

from signaldesk.columns import json_or, json_text, to_column


def test_json_columns_read_back_equal_and_compact():
    value = {"values": {"z_1": 0.1 + 0.2, "rsi_14": 1e-7}, "top": [{"feature": "z_1", "ok": True}]}
    text = to_column(value)
    assert json.loads(text) == value and ", " not in text


def test_what_orjson_refuses_is_written_by_the_standard_library():
    value = {"x": np.float64(0.5), "big": 2**70}
    assert json.loads(json_text(value)) == {"x": 0.5, "big": 2**70}


def test_nan_is_stored_as_null_and_read_back_as_none():
    assert json_or(json_text({"ratio": math.nan}), {}) == {"ratio": None}


def test_a_value_no_encoder_can_write_still_fails_loudly():
    with pytest.raises(TypeError):
        json_text({"price": Decimal("1.5")})
