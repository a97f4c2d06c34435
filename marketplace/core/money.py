"""Money is integer fen (分) everywhere; these helpers parse and format it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import format_currency

MAX_FEN = 10**13  # one hundred billion yuan: beyond any intermediary-service contract


def yuan_to_fen(value) -> int:
    """Convert a yuan amount (str/Decimal/int) to integer fen, rounding half up.

    Raises:
        ValueError: not a number, negative or too large.
    """
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError("not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("negative or not finite")
    if amount > Decimal(MAX_FEN) / 100:
        raise ValueError("too large")
    try:
        fen = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise ValueError("not a representable amount") from exc
    if fen > MAX_FEN:
        raise ValueError("too large")
    return fen


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen to a two-place Decimal of yuan."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_fen(fen: int | None) -> str:
    """Format fen as a localised CNY amount, e.g. ¥12,300.00."""
    if fen is None:
        return "—"
    return format_currency(fen_to_yuan(fen), "CNY")


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_SECTIONS = ["", "万", "亿", "万亿"]


def _section(n: int) -> str:
    out, zero = "", False
    for pos in range(3, -1, -1):
        d = (n // 10**pos) % 10
        if d == 0:
            zero = bool(out)
        else:
            if zero:
                out += "零"
                zero = False
            out += _DIGITS[d] + _UNITS[pos]
    return out


def fen_to_chinese(fen: int) -> str:
    """Amount in Chinese capital numerals (大写金额), e.g. 12300_00 → 壹万贰仟叁佰元整."""
    if fen < 0:
        raise ValueError("negative amount")
    yuan, rest = divmod(fen, 100)
    jiao, fen_part = divmod(rest, 10)
    parts: list[str] = []
    if yuan:
        sections = []
        n = yuan
        while n:
            sections.append(n % 10000)
            n //= 10000
        text, need_zero = "", False
        for idx in range(len(sections) - 1, -1, -1):
            sec = sections[idx]
            if sec == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or sec < 1000):
                text += "零"
            text += _section(sec) + _SECTIONS[idx]
            need_zero = False
        parts.append(text + "元")
    if not jiao and not fen_part:
        return ("".join(parts) or "零元") + "整"
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif yuan:
        parts.append("零")
    if fen_part:
        parts.append(_DIGITS[fen_part] + "分")
    else:
        parts.append("整")
    return "".join(parts)
