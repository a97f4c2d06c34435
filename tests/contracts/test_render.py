"""The contract PDF: Chinese text that can be extracted, embedded fonts, reproducible bytes."""

from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from marketplace.contracts.documents.render import (
    ContractData,
    FontFiles,
    Party,
    RenderError,
    render_contract_html,
    render_contract_pdf,
)
from marketplace.contracts.documents.samples import sample_contract_data


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def test_pdf_shows_the_parties_price_and_clauses_in_chinese(rendered, contract_data):
    text = pdf_text(rendered.pdf)
    for expected in (
        "中介服务合同".replace("", " ").strip(),  # the title is letter-spaced
        contract_data.contract_no,
        contract_data.buyer.name,
        contract_data.agency.name,
        contract_data.buyer.uscc,
        contract_data.agency.uscc,
        contract_data.approval_case_no,
        "壹万贰仟叁佰元整",
        "¥12,300.00",
        "第一条",
        "违约责任",
        "争议解决",
        "15 个工作日",
        "合同生效当日不计入",
    ):
        assert expected in text, expected


def test_fonts_are_embedded(rendered):
    reader = PdfReader(BytesIO(rendered.pdf))
    fonts = {}
    for page in reader.pages:
        for name, ref in page["/Resources"]["/Font"].items():
            fonts[name] = ref.get_object()
    assert fonts
    for font in fonts.values():
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]


def test_same_version_renders_to_the_same_bytes(rendered, contract_data, tmp_path):
    again = render_contract_pdf(contract_data)
    assert again.pdf == rendered.pdf
    assert rendered.sha256 == hashlib.sha256(rendered.pdf).hexdigest()
    stored = tmp_path / "contract-v1.pdf"
    stored.write_bytes(rendered.pdf)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == rendered.sha256


def test_the_creation_date_is_the_drafting_day(rendered):
    info = PdfReader(BytesIO(rendered.pdf)).metadata
    assert info["/CreationDate"].startswith("D:20250303000000+08")
    assert "ZJHT-2025-330106-000123" in info["/Title"]


def test_a_new_version_has_a_new_hash(rendered):
    v2 = render_contract_pdf(sample_contract_data(version=2, working_days=20))
    assert v2.sha256 != rendered.sha256
    assert "20 个工作日" in pdf_text(v2.pdf)


def test_known_dates_are_printed():
    html = render_contract_html(
        sample_contract_data(effective_date=date(2025, 3, 10), due_date=date(2025, 3, 31))
    )
    assert "2025年3月10日" in html and "2025年3月31日" in html


def test_a_plain_dict_renders_like_the_dataclass(contract_data):
    as_dict = contract_data.as_dict()
    assert ContractData.from_mapping(as_dict) == contract_data
    assert render_contract_html(as_dict) == render_contract_html(contract_data)


def test_user_text_is_escaped():
    html = render_contract_html(sample_contract_data(special_terms='<img src="x">&'))
    assert '<img src="x">' not in html and "&lt;img" in html


@pytest.mark.parametrize(
    ("field", "value"),
    [("price_fen", -1), ("price_fen", 10**14), ("working_days", 0), ("version", 0)],
)
def test_out_of_range_values_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        sample_contract_data(**{field: value})


@pytest.mark.parametrize(
    "template",
    [
        "{{ c.__class__.__mro__ }}",
        "{{ c.buyer.__init__.__globals__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ no_such_variable }}",
        "{% for %}",
    ],
)
def test_administrator_templates_run_in_a_sandbox(template):
    with pytest.raises(RenderError):
        render_contract_pdf(sample_contract_data(), template=template)


def _png(path: Path) -> None:
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_templates_cannot_pull_in_local_files_or_urls(tmp_path):
    image = tmp_path / "secret.png"
    _png(image)
    template = (
        '<html lang="zh-CN"><head><link rel="stylesheet" href="https://example.invalid/x.css">'
        f'</head><body><p>图片</p><img src="{image.as_uri()}"></body></html>'
    )
    pdf = render_contract_pdf(sample_contract_data(), template=template).pdf
    page = PdfReader(BytesIO(pdf)).pages[0]
    assert "图片" in page.extract_text()
    assert list(page.images) == []


def test_a_missing_font_is_a_clear_error():
    fonts = FontFiles(regular=Path("/nonexistent/font.ttc"))
    with pytest.raises(RenderError, match="missing"):
        render_contract_pdf(sample_contract_data(), fonts=fonts)


def _font_names(pdf: bytes) -> set[str]:
    reader = PdfReader(BytesIO(pdf))
    return {str(ref.get_object()["/BaseFont"]).split("+", 1)[-1]
            for page in reader.pages for ref in page["/Resources"]["/Font"].values()}


def test_the_model_contract_is_set_in_the_compact_cut_of_the_font(rendered, contract_data):
    from marketplace.contracts.documents.fonts import compact_font
    from marketplace.contracts.documents.render import find_cjk_fonts

    fonts = find_cjk_fonts()
    for path in (fonts.regular, fonts.bold):
        cut = compact_font(path)
        assert cut is not None and cut.covers(render_contract_html(contract_data))
    # Both weights, and nothing from a fallback font.
    assert _font_names(rendered.pdf) == {"ContractCJK", "ContractCJK-Bold"}


def test_a_character_outside_the_compact_cut_is_printed_with_the_full_font():
    from marketplace.contracts.documents.fonts import CHARACTERS

    assert ord("喆") not in CHARACTERS
    data = sample_contract_data(buyer=Party(
        name="杭州市西湖区城市建设发展中心", uscc="11330106MB12345675",
        legal_representative="王喆", address="浙江省杭州市西湖区文三路 100 号", signer=""))
    pdf = render_contract_pdf(data).pdf
    assert "王喆" in pdf_text(pdf)
    assert _font_names(pdf) == {"ContractCJK", "ContractCJK-Bold"}
    assert render_contract_pdf(data).pdf == pdf
