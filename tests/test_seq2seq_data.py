"""The generated sequence-to-sequence tasks of chapter 5: addition and dates."""
import datetime

import numpy as np
import pytest

from rnnbook.data.addition import addition_pairs
from rnnbook.data.dates import DATE_FORMATS, date_pairs, format_date
from rnnbook.data.pairs import END_ID, PAD_ID, START_ID, decode_ids, encode_pairs, pair_vocab


def test_addition_pairs_are_correct_distinct_and_seeded():
    pairs = addition_pairs(2000, seed=3)
    assert pairs == addition_pairs(2000, seed=3)
    assert pairs != addition_pairs(2000, seed=4)
    assert len({q for q, _ in pairs}) == 2000
    for q, a in pairs:
        x, y = q.split("+")
        assert 1 <= len(x) <= 3 and 1 <= len(y) <= 3
        assert int(x) + int(y) == int(a)
        assert str(int(x)) == x                     # no leading zeros
    lengths = [len(q.split("+")[0]) for q, _ in pairs]
    assert min(lengths.count(d) for d in (1, 2, 3)) > 500   # digit counts drawn uniformly


def test_addition_exclude_gives_a_disjoint_test_set():
    train = addition_pairs(3000, seed=1)
    test = addition_pairs(500, seed=2, exclude=train)
    assert not {q for q, _ in train} & {q for q, _ in test}


def test_addition_bad_arguments():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        addition_pairs(0)
    with pytest.raises(ValueError, match="max_digits must be an integer from 1 to 9"):
        addition_pairs(10, max_digits=0)
    with pytest.raises(ValueError, match="too many distinct questions"):
        addition_pairs(60, max_digits=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        addition_pairs(10, seed="a")


def test_dates_are_correct_distinct_and_unambiguous():
    pairs = date_pairs(3000, seed=5)
    assert pairs == date_pairs(3000, seed=5)
    assert len({s for s, _ in pairs}) == 3000
    for src, iso in pairs:
        d = datetime.date.fromisoformat(iso)
        assert 1950 <= d.year <= 2049
        assert str(d.year) in src
        if "/" in src:                        # always month/day/year
            m, day, y = map(int, src.split("/"))
            assert (y, m, day) == (d.year, d.month, d.day)
        if "." in src:                        # always day.month.year
            day, m, y = map(int, src.split("."))
            assert (y, m, day) == (d.year, d.month, d.day)


def test_every_date_format():
    d = datetime.date(1994, 9, 27)
    got = {f: format_date(d, f) for f in DATE_FORMATS}
    assert got["weekday_month_day_year"] == "Tuesday, September 27, 1994"
    assert got["us_slash"] == "9/27/1994"
    assert got["eu_dots"] == "27.09.1994"
    assert got["ordinal"] == "the 27th of September, 1994"
    assert format_date(datetime.date(2001, 3, 12), "ordinal") == "the 12th of March, 2001"
    assert format_date(datetime.date(2001, 3, 22), "ordinal") == "the 22nd of March, 2001"


def test_dates_bad_arguments():
    with pytest.raises(ValueError, match="unknown date format 'iso'"):
        date_pairs(10, formats=["iso"])
    with pytest.raises(ValueError, match="last_year .* is before first_year"):
        date_pairs(10, first_year=2000, last_year=1999)
    with pytest.raises(ValueError, match="formats is empty"):
        date_pairs(10, formats=[])
    with pytest.raises(ValueError, match="n must be a positive integer"):
        date_pairs(-1)
    with pytest.raises(ValueError, match="too many distinct dates"):
        date_pairs(1000, first_year=2000, last_year=2000, formats=["eu_dots"])


def test_encode_decode_round_trip_and_reversal():
    pairs = [("16+75", "91"), ("1+2", "3")]
    v = pair_vocab(pairs)
    assert v.itos[:3] == ["<pad>", "<s>", "</s>"]
    src, tgt = encode_pairs(pairs, v, src_len=7, tgt_len=4)
    assert src.shape == (2, 7) and tgt.shape == (2, 6) and src.dtype == np.int64
    assert (tgt[:, 0] == START_ID).all()
    assert tgt[1].tolist()[1:] == [v.stoi["3"], END_ID, PAD_ID, PAD_ID, PAD_ID]
    assert decode_ids(tgt, v) == ["91", "3"]
    assert decode_ids(src, v) == ["16+75", "1+2"]
    rsrc, _ = encode_pairs(pairs, v, src_len=7, tgt_len=4, reverse_source=True)
    assert (rsrc == src[:, ::-1]).all()
    assert decode_ids(rsrc, v) == ["57+61", "2+1"]


def test_encode_bad_arguments():
    v = pair_vocab([("1+2", "3")])
    with pytest.raises(ValueError, match="src_len=2 is too short: the longest src string has 3"):
        encode_pairs([("1+2", "3")], v, src_len=2)
    with pytest.raises(TypeError, match=r"pairs\[0\] must be a \(source, target\) pair of strings"):
        encode_pairs([("1+2",)], v)
    with pytest.raises(ValueError, match="pairs is empty"):
        encode_pairs([], v)
    with pytest.raises(KeyError, match="'9' is not in the vocabulary"):
        encode_pairs([("9", "9")], v)
    with pytest.raises(TypeError, match="vocab must be an rnnbook.data.Vocab"):
        encode_pairs([("1+2", "3")], {"1": 0})


def test_pre_padding_puts_the_padding_first():
    pairs = [("16+75", "91"), ("1+2", "3")]
    v = pair_vocab(pairs)
    src, _ = encode_pairs(pairs, v, src_len=7, tgt_len=4, pad_source="start")
    assert src[1, :4].tolist() == [PAD_ID] * 4 and decode_ids(src, v) == ["16+75", "1+2"]
    rsrc, _ = encode_pairs(pairs, v, src_len=7, tgt_len=4, reverse_source=True)
    assert ((src == PAD_ID) == (rsrc == PAD_ID)).all()     # the same padding positions as the reversed rows
    both, _ = encode_pairs(pairs, v, src_len=7, tgt_len=4, pad_source="start", reverse_source=True)
    assert decode_ids(both, v) == ["57+61", "2+1"] and (both[:, -2:] == PAD_ID).all()
    with pytest.raises(ValueError, match="pad_source must be 'end' or 'start'"):
        encode_pairs(pairs, v, pad_source="left")
