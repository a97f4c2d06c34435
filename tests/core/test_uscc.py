import pytest

from marketplace.core.uscc import USCCError, check_character, validate_uscc
from tests.factories import make_uscc

# A widely published example code, and one whose check character was computed by hand.
REAL_CODES = ["91350100M000100Y43", "115300000151243728"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_valid_codes_pass(code):
    assert validate_uscc(code) == code


def test_generated_codes_pass():
    for _ in range(200):
        code = make_uscc()
        assert validate_uscc(code) == code


def test_full_width_lower_case_and_spaces_are_normalised():
    full_width = "９１３５０１００ｍ０００１００ｙ４３"
    assert validate_uscc(full_width) == "91350100M000100Y43"
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_wrong_length_says_so(app):
    with app.test_request_context(), pytest.raises(USCCError) as exc:
        validate_uscc("91350100M000100Y4")
    assert "18" in str(exc.value) and "17" in str(exc.value)


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z"])
def test_forbidden_letters_say_which(app, bad):
    code = "91350100M000100Y4" + bad
    with app.test_request_context(), pytest.raises(USCCError) as exc:
        validate_uscc(code)
    assert bad in str(exc.value)


def test_wrong_check_character_names_the_right_one(app):
    with app.test_request_context(), pytest.raises(USCCError) as exc:
        validate_uscc("91350100M000100Y44")
    assert "3" in str(exc.value)
    assert check_character("91350100M000100Y4") == "3"


def test_message_is_translated(app):
    with app.test_request_context("/?lang=zh_CN"), pytest.raises(USCCError) as exc:
        validate_uscc("123")
    assert "18" in str(exc.value)
