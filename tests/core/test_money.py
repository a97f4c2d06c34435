import pytest

from marketplace.core.money import fen_to_chinese, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1230000, "壹万贰仟叁佰元整"),
        (100, "壹元整"),
        (0, "零元整"),
        (10000000, "壹拾万元整"),
        (100100, "壹仟零壹元整"),
        (1000500, "壹万零伍元整"),
        (12345, "壹佰贰拾叁元肆角伍分"),
        (10005, "壹佰元零伍分"),
        (10000000000, "壹亿元整"),
        (10000100000, "壹亿零壹仟元整"),
        (50, "伍角整"),
        (5, "伍分"),
    ],
)
def test_chinese_capital_numerals(fen, text):
    assert fen_to_chinese(fen) == text


def test_yuan_to_fen_rounds_half_up_and_rejects_bad_input():
    assert yuan_to_fen("12,300.005") == 1230001
    assert yuan_to_fen("0.01") == 1
    assert yuan_to_fen("1e-999999999") == 0
    for bad in ["-1", "abc", "NaN", "Infinity", "1e20", "1e30", "9" * 60]:
        with pytest.raises(ValueError):
            yuan_to_fen(bad)
