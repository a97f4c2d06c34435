"""Rendering a contract to PDF: a sandboxed Jinja template, WeasyPrint and an embedded CJK font.

The same ``ContractData`` rendered by the same WeasyPrint and font files gives byte-identical
PDFs: the PDF creation date comes from the data (``drafted_on``), WeasyPrint writes no random
document ID, and fonts are subset deterministically. Upgrading WeasyPrint or the font changes the
bytes, so the contracts domain must store the frozen bytes of each version and record the
SHA-256 *of the stored bytes*; a re-render is a convenience, never the evidence.

Templates are maintained by administrators, so they run in Jinja's immutable sandbox, and the
renderer fetches nothing but the font files: no network, no local files named by a template.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from flask_babel import lazy_gettext as _l
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from marketplace.contracts.documents.fonts import COMPACT_CUT, compact_font
from marketplace.core.errors import DomainError
from marketplace.core.money import MAX_FEN, fen_to_chinese, fen_to_yuan

# The project root, as ``marketplace.ROOT`` (not imported: the app package sits above the domains).
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE_PATH = ROOT / "templates" / "contracts" / "model_contract.html"
FONT_FAMILY = "ContractCJK"
MAX_WORKING_DAYS = 3650
SHANGHAI = ZoneInfo("Asia/Shanghai")

# (regular, bold) pairs, best first: Debian's fonts-noto-cjk, then fonts-wqy-microhei.
FONT_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    (
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
)


class RenderError(DomainError):
    """The contract could not be rendered (bad template, missing font)."""


@dataclass(frozen=True)
class Party:
    """One party to the contract as printed: the unit, its USCC and who signs for it."""

    name: str
    uscc: str
    legal_representative: str
    address: str
    signer: str
    signer_position: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ContractData:
    """Everything a contract document shows; plain values, no database objects.

    ``buyer`` is 甲方 (the project owner who bought the service), ``agency`` is 乙方 (the
    intermediary agency). ``effective_date`` and ``due_date`` are known only once both parties
    have signed; the text then states the rule by which the due date is computed instead.

    Raises:
        ValueError: a number is out of range (price, working days, version).
    """

    contract_no: str
    version: int
    buyer: Party
    agency: Party
    approval_case_no: str
    approval_item: str
    service_item: str
    request_no: str
    request_title: str
    service_content: str
    price_fen: int
    working_days: int
    payment_terms: str
    region: str
    drafted_on: date
    special_terms: str = ""
    acceptance_terms: str = ""
    selection_method: str = "网上中介服务超市竞价选取"
    effective_date: date | None = None
    due_date: date | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if not isinstance(self.version, int) or self.version < 1:
            raise ValueError("version must be a positive integer")
        if not isinstance(self.price_fen, int) or not 0 <= self.price_fen <= MAX_FEN:
            raise ValueError("price_fen must be an integer between 0 and MAX_FEN")
        if not isinstance(self.working_days, int) or not 1 <= self.working_days <= MAX_WORKING_DAYS:
            raise ValueError(f"working_days must be between 1 and {MAX_WORKING_DAYS}")

    @classmethod
    def from_mapping(cls, data: Mapping) -> ContractData:
        """Build from a plain dict (parties as dicts, dates as ``date`` or ISO strings).

        Raises:
            ValueError: a date is not ISO formatted or a number is out of range.
            TypeError: a required key is missing or an unknown key is given.
        """
        values = dict(data)
        for key in ("buyer", "agency"):
            if isinstance(values.get(key), Mapping):
                values[key] = Party(**values[key])
        for key in ("drafted_on", "effective_date", "due_date"):
            if isinstance(values.get(key), str):
                values[key] = date.fromisoformat(values[key])
        return cls(**values)

    def as_dict(self) -> dict:
        """A plain dict of the fields (parties as dicts), e.g. to store beside the PDF."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Party):
                value = {pf.name: getattr(value, pf.name) for pf in fields(Party)}
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class FontFiles:
    """The CJK font files embedded in the PDF (bold may be None: then it is synthesised)."""

    regular: Path
    bold: Path | None = None


@dataclass(frozen=True)
class RenderedContract:
    """A rendered contract: the PDF bytes to freeze and their SHA-256 (hex)."""

    pdf: bytes
    sha256: str


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def find_cjk_fonts() -> FontFiles:
    """The first installed CJK font pair from ``FONT_CANDIDATES``.

    Raises:
        RenderError: no CJK font is installed (install Debian's fonts-noto-cjk).
    """
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            bold_path = Path(bold) if bold and Path(bold).is_file() else None
            return FontFiles(Path(regular), bold_path)
    raise RenderError(_l("No CJK font is installed; install the fonts-noto-cjk package."))


# --- template environment ---------------------------------------------------------------------


def _cn_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def _yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}"


def _paragraphs(text: str | None) -> list[str]:
    """Split free text into paragraphs: one per non-blank line."""
    if not text:
        return []
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def _nl2br(text: str | None) -> Markup:
    return Markup("<br>").join(escape(line) for line in _paragraphs(text))


_ENV = ImmutableSandboxedEnvironment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(
    cn_date=_cn_date,
    yuan=_yuan,
    rmb_upper=fen_to_chinese,
    paragraphs=_paragraphs,
    nl2br=_nl2br,
)


def default_template() -> str:
    """The source of the default model contract (templates/contracts/model_contract.html)."""
    return DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def _compiled(source: str) -> jinja2.Template:
    """The sandboxed template compiled from ``source`` (compiling costs more than rendering)."""
    return _ENV.from_string(source)


def render_contract_html(data: ContractData | Mapping, template: str | None = None) -> str:
    """Fill the contract template (default: the model contract) with ``data``.

    Raises:
        RenderError: the template is invalid, uses an unknown variable or breaks the sandbox.
        ValueError: ``data`` is a mapping with out-of-range values.
    """
    if not isinstance(data, ContractData):
        data = ContractData.from_mapping(data)
    source = default_template() if template is None else template
    try:
        return _compiled(source).render(
            c=data,
            buyer=data.buyer,
            agency=data.agency,
            price_upper=fen_to_chinese(data.price_fen),
            price_figures=_yuan(data.price_fen),
        )
    except jinja2.TemplateError as exc:
        raise RenderError(
            _l("The contract template cannot be used: %(error)s", error=str(exc)[:300])
        ) from exc


@dataclass(frozen=True)
class _Face:
    """One @font-face of the contract font: its URL, weight and where its bytes come from."""

    url: str
    weight: str
    path: Path
    compact: bool


def _faces(fonts: FontFiles, html: str) -> tuple[_Face, ...]:
    """The compact cut of each font file if the cuts have every character of ``html``, else the
    files themselves (see ``fonts.py``). Both weights always come from the same choice."""
    files = [(fonts.regular, "normal")]
    if fonts.bold is not None:
        files.append((fonts.bold, "bold"))
    cuts = [compact_font(path) for path, _ in files]
    if all(cut is not None and cut.covers(html) for cut in cuts):
        # Any URL does: only the renderer's fetcher ever sees it, and it names the cut.
        return tuple(_Face(f"{path.as_uri()}?cut={COMPACT_CUT}", weight, path, True)
                     for path, weight in files)
    return tuple(_Face(path.as_uri(), weight, path, False) for path, weight in files)


def _font_css(faces: tuple[_Face, ...]) -> str:
    css = "".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{face.url}");'
        f" font-weight: {face.weight}; }}\n"
        for face in faces
    )
    # The template chooses sizes and layout; the font is not up to it (no tofu, no fallback).
    # Noto CJK picks simplified-Chinese glyph forms from the language: default it to zh-CN for
    # templates that forget <html lang="zh-CN"> (face 0 of a collection is Japanese; the compact
    # cut is made from the simplified-Chinese face).
    return css + (
        f'html, body, * {{ font-family: "{FONT_FAMILY}" !important; }}\n'
        'html { -weasy-lang: "zh-CN"; }\n'
    )


@functools.cache
def _fetcher_class():
    # WeasyPrint loads native libraries: imported on first render, not with the app.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class FontOnlyFetcher(URLFetcher):
        """Serves the contract font faces; refuses every other URL (no network, no files)."""

        def __init__(self, faces: tuple[_Face, ...] = ()):
            super().__init__(allowed_protocols=("file",), allow_redirects=False)
            self._faces = {face.url: face for face in faces}

        def fetch(self, url, headers=None):
            face = self._faces.get(url)
            if face is None:
                raise ValueError(f"the contract renderer fetches no outside resource: {url[:80]}")
            cut = compact_font(face.path) if face.compact else None
            body = cut.data if cut is not None else face.path.read_bytes()
            return URLFetcherResponse(url, body=body)

    return FontOnlyFetcher


class _Typesetters(threading.local):
    """Per thread (Pango is not thread-safe) and per process: the font configuration and the
    font stylesheet of each set of faces, made once. Building them copies the font to a
    temporary folder and has Fontconfig scan it, which cost more than the layout of a page."""

    def __init__(self):
        self.pid = os.getpid()
        self.by_faces: dict[tuple[_Face, ...], tuple] = {}


_typesetters = _Typesetters()
_MAX_TYPESETTERS = 4


def _typesetter(faces: tuple[_Face, ...]):
    """(FontConfiguration, font CSS) for ``faces``, cached for this thread."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    cache = _typesetters
    if cache.pid != os.getpid():  # forked: Fontconfig state is not ours to share
        cache.pid, cache.by_faces = os.getpid(), {}
    found = cache.by_faces.get(faces)
    if found is None:
        font_config = FontConfiguration()
        stylesheet = CSS(string=_font_css(faces), font_config=font_config,
                         url_fetcher=_fetcher_class()(faces))
        if len(cache.by_faces) >= _MAX_TYPESETTERS:
            cache.by_faces.pop(next(iter(cache.by_faces)))
        found = cache.by_faces[faces] = (font_config, stylesheet)
    return found


def render_contract_pdf(
    data: ContractData | Mapping,
    *,
    template: str | None = None,
    fonts: FontFiles | None = None,
) -> RenderedContract:
    """Render the contract to a self-contained PDF (CJK font subset embedded) and hash it.

    Raises:
        RenderError: bad template or no CJK font.
        ValueError: ``data`` is a mapping with out-of-range values.
    """
    if not isinstance(data, ContractData):
        data = ContractData.from_mapping(data)
    fonts = fonts or find_cjk_fonts()
    _check_fonts(fonts)
    html = render_contract_html(data, template)
    # Fixed metadata: the creation date is the drafting day, not "now", so that re-rendering
    # the same version reproduces the same bytes.
    stamp = datetime.combine(data.drafted_on, time(0, 0), SHANGHAI)
    pdf = html_to_pdf(html, title=f"中介服务合同 {data.contract_no}（第{data.version}版）",
                      created=stamp, fonts=fonts)
    return RenderedContract(pdf=pdf, sha256=sha256_hex(pdf))


def _check_fonts(fonts: FontFiles) -> None:
    for path in (fonts.regular, fonts.bold):
        if path is not None and not path.is_file():
            raise RenderError(_l("The contract font %(path)s is missing.", path=str(path)))


def html_to_pdf(html: str, *, title: str, created: datetime, fonts: FontFiles | None = None,
                lang: str = "zh-CN") -> bytes:
    """A self-contained PDF of a trusted or sandbox-rendered HTML page: the CJK font embedded,
    nothing else fetched, the metadata fixed (``created`` is the creation and modification date).

    Raises:
        RenderError: no CJK font.
    """
    from weasyprint import HTML

    fonts = fonts or find_cjk_fonts()
    _check_fonts(fonts)
    font_config, stylesheet = _typesetter(_faces(fonts, html))
    # The page itself may fetch nothing, not even the font files: they come with the stylesheet.
    document = HTML(string=html, base_url="about:blank", url_fetcher=_fetcher_class()()).render(
        stylesheets=[stylesheet], font_config=font_config
    )
    stamp = created.astimezone(SHANGHAI).isoformat() if created.tzinfo else created.isoformat()
    metadata = document.metadata
    metadata.title = title
    metadata.authors = ["网上中介服务超市"]
    metadata.created = metadata.modified = stamp
    metadata.generator = "zhongjie-market"
    metadata.lang = lang
    return document.write_pdf()
