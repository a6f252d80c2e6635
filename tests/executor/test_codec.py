"""The sandbox's wire format: data round-trips, and nothing in it can run code when read."""

import datetime as dt
import decimal
import fractions
import json

import numpy as np
import pandas as pd
import pytest

from smolnb.executor.codec import Unsupported, decode, encode


def roundtrip(value):
    tree, blobs = encode(value)
    json.dumps(tree)  # the header is plain JSON
    return decode(json.loads(json.dumps(tree)), [bytearray(b) for b in blobs])


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2**80,
        -1.5,
        float("inf"),
        "text",
        b"\x00\xff",
        bytearray(b"ab"),
        [1, [2, "x"]],
        (1, (2,)),
        {"a": 1},
        {1: "one", (2, 3): None},
        {"$": "not a tag"},
        {1, 2},
        frozenset({"a"}),
        1 + 2j,
        decimal.Decimal("1.10"),
        fractions.Fraction(1, 3),
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 12),
        dt.timedelta(days=1, seconds=5),
        np.float32(1.5),
        np.arange(6).reshape(2, 3),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_values_round_trip(value):
    back = roundtrip(value)
    if isinstance(value, np.ndarray):
        assert np.array_equal(back, value) and back.dtype == value.dtype
    else:
        assert back == value and type(back) is type(value)


def test_frames_round_trip_on_both_paths():
    numeric = pd.DataFrame({"x": np.arange(5.0), "k": np.arange(5), "t": pd.date_range("2020", periods=5), "b": [True] * 5})
    mixed = pd.DataFrame({"city": ["a", "b"], "n": [1, 2]}, index=["p", "q"])
    assert encode(numeric)[0]["$"] == "npframe" and encode(mixed)[0]["$"] == "frame"
    for frame in (numeric, mixed):
        back = roundtrip(frame)
        pd.testing.assert_frame_equal(back, frame, check_index_type=False)
    back = roundtrip(numeric)
    back.loc[0, "x"] = 9.0  # writable: the notebook owns it
    series = roundtrip(pd.Series([1.5, 2.5], name="s"))
    assert list(series) == [1.5, 2.5] and series.name == "s"


def test_what_has_no_safe_form_is_refused():
    class Mine:
        pass

    for value in (Mine(), np.array([object()]), {1, Mine()}, dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))):
        with pytest.raises(Unsupported):
            encode(value)
    with pytest.raises(Unsupported):
        decode({"$": "pickle", "b": 0}, [bytearray(b"cos\nsystem\n")])
