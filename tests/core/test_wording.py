"""Wording rules that hold on every page: labels end with the colon of the page's language."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# `{{ _('Budget') }}: ` puts an ASCII colon after a Chinese label; `{{ _('Budget')|label }}` does not.
ASCII_COLON_AFTER_EXPRESSION = re.compile(r"\}\}:( |<|$)", re.M)


def test_no_template_puts_an_ascii_colon_after_a_label():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{src[: m.start()].count(chr(10)) + 1}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for src in [path.read_text(encoding="utf-8")]
        for m in ASCII_COLON_AFTER_EXPRESSION.finditer(src)
    ]
    assert offenders == []


def test_labels_take_the_colon_of_the_language(client):
    chinese = client.get("/api/v1/docs?lang=zh_CN").get_data(as_text=True)
    assert "响应：" in chinese and "响应: " not in chinese
    english = client.get("/api/v1/docs?lang=en").get_data(as_text=True)
    assert "Responses: " in english
