"""A compact cut of the contract's CJK font, made once per process with HarfBuzz.

Noto CJK ships as 26 MB collections: five regional faces sharing 65,535 glyphs. Handed to
WeasyPrint as they are, every render paid for the whole collection: the file is copied to a
temporary folder and scanned by Fontconfig, and the final subset walks every glyph slot
(WeasyPrint keeps glyph ids, so the embedded subset of the collection is 0.8 MB per weight).

So on first use each process cuts the simplified-Chinese face of each font file down to a fixed
character set, ``CHARACTERS`` (GB 2312: its 6,763 hanzi and symbols, plus Latin-1, general and
CJK punctuation, letter-like symbols and full-width forms). The cut keeps the layout tables
(shaping is unchanged) and the outlines, hinting and names of the glyphs it keeps: about 4.7 MB
and 13,000 glyphs. The renderer uses it for every document whose text stays within the cut, and
the full font files for any other (a name with a rare character), so nothing is ever printed
with a missing glyph.

The cut is deterministic (it depends only on the font file, ``CHARACTERS`` and HarfBuzz), so
the same contract data still gives the same PDF bytes, in any process. Changing
``CHARACTERS`` changes the bytes of new renders, like upgrading the font would; stored
versions keep their frozen bytes.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Code point ranges kept besides GB 2312 (only those the font has are kept).
EXTRA_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 (¥, ×, °, §)
    (0x2000, 0x206F),  # general punctuation (— “” … ‰ •)
    (0x2100, 0x218F),  # letter-like symbols and number forms (℃ № Ⅻ)
    (0x2460, 0x24FF),  # enclosed alphanumerics (① ⑴ ⒈)
    (0x3000, 0x303F),  # CJK symbols and punctuation (　、。《》【】〔〕)
    (0xFF00, 0xFFEF),  # full-width and half-width forms (，：（）￥)
)


def _gb2312() -> frozenset[int]:
    points = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(points)


# Names this character set in the renderer's font URLs; bump it when CHARACTERS changes.
COMPACT_CUT = "gb2312-1"
CHARACTERS: frozenset[int] = _gb2312() | frozenset(
    point for start, end in EXTRA_RANGES for point in range(start, end + 1)
)


@dataclass(frozen=True)
class CompactFont:
    """A single-face OpenType font cut from a font file, and the code points it maps."""

    data: bytes
    codepoints: frozenset[int]

    def covers(self, text: str) -> bool:
        """Whether every printable character of ``text`` has a glyph in this font."""
        return all(ord(ch) in self.codepoints for ch in set(text) if ord(ch) >= 0x20)


_HB_DECLARATIONS = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef int hb_bool_t;
hb_blob_t *hb_blob_create_from_file_or_fail (const char *file_name);
void hb_blob_destroy (hb_blob_t *blob);
const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
unsigned int hb_face_count (hb_blob_t *blob);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t *hb_face_reference_blob (hb_face_t *face);
unsigned int hb_face_get_glyph_count (const hb_face_t *face);
void hb_face_collect_unicodes (hb_face_t *face, hb_set_t *out);
hb_set_t *hb_set_create (void);
void hb_set_destroy (hb_set_t *set);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
hb_bool_t hb_set_next (const hb_set_t *set, hb_codepoint_t *codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set (hb_subset_input_t *input);
hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""


@functools.cache
def _harfbuzz():
    """(ffi, libharfbuzz, libharfbuzz-subset), or None when the libraries cannot be loaded."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(_HB_DECLARATIONS)
    libraries = []
    for names in (("libharfbuzz.so.0", "harfbuzz", "libharfbuzz.0.dylib", "libharfbuzz-0.dll"),
                  ("libharfbuzz-subset.so.0", "harfbuzz-subset", "libharfbuzz-subset.0.dylib",
                   "libharfbuzz-subset-0.dll")):
        for name in names:
            try:
                libraries.append(ffi.dlopen(name))
                break
            except OSError:
                continue
        else:
            log.warning("HarfBuzz (%s) cannot be loaded: contracts use the full CJK font", names[0])
            return None
    return ffi, *libraries


def _unicodes(ffi, hb, face) -> frozenset[int]:
    found = hb.hb_set_create()
    try:
        hb.hb_face_collect_unicodes(face, found)
        point = ffi.new("hb_codepoint_t *", 0xFFFFFFFF)  # HB_SET_VALUE_INVALID: start
        points = []
        while hb.hb_set_next(found, point):
            points.append(point[0])
        return frozenset(points)
    finally:
        hb.hb_set_destroy(found)


_SIMPLIFIED = re.compile(r"CJK ?SC\b", re.IGNORECASE)


def simplified_chinese_face(path: Path) -> int:
    """The index of the simplified-Chinese face in a font collection (0 if none is named so)."""
    from fontTools.ttLib.ttCollection import TTCollection

    with path.open("rb") as fh:
        if fh.read(4) != b"ttcf":
            return 0
    with path.open("rb") as fh:
        collection = TTCollection(fh, lazy=True)
        for index, font in enumerate(collection.fonts):
            name = font["name"]
            for name_id in (6, 1):  # PostScript name (NotoSerifCJKsc-Regular), family (… CJK SC)
                if _SIMPLIFIED.search(name.getDebugName(name_id) or ""):
                    return index
    return 0


def _cut(path: Path) -> CompactFont | None:
    loaded = _harfbuzz()
    if loaded is None:
        return None
    ffi, hb, hb_subset = loaded
    index = simplified_chinese_face(path)
    blob = hb.hb_blob_create_from_file_or_fail(str(path).encode())
    if blob == ffi.NULL:
        return None
    face = subset_input = cut = cut_blob = None
    try:
        face = hb.hb_face_create(blob, index)
        subset_input = hb_subset.hb_subset_input_create_or_fail()
        if subset_input == ffi.NULL:
            return None
        wanted = hb_subset.hb_subset_input_unicode_set(subset_input)
        available = _unicodes(ffi, hb, face)
        for point in sorted(CHARACTERS & available):
            hb.hb_set_add(wanted, point)
        cut = hb_subset.hb_subset_or_fail(face, subset_input)
        if cut == ffi.NULL:
            return None
        cut_blob = hb.hb_face_reference_blob(cut)
        length = ffi.new("unsigned int *")
        data = ffi.buffer(hb.hb_blob_get_data(cut_blob, length), length[0])[:]
        return CompactFont(data=data, codepoints=_unicodes(ffi, hb, cut))
    finally:
        if cut_blob is not None:
            hb.hb_blob_destroy(cut_blob)
        if cut not in (None, ffi.NULL):
            hb.hb_face_destroy(cut)
        if subset_input not in (None, ffi.NULL):
            hb_subset.hb_subset_input_destroy(subset_input)
        if face is not None:
            hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


_lock = threading.Lock()
_cuts: dict[tuple[Path, int, int], CompactFont | None] = {}


def compact_font(path: Path) -> CompactFont | None:
    """The compact cut of the font file at ``path``, made on first use and kept for the process.

    None when HarfBuzz cannot cut it (no libharfbuzz-subset, not a font): the caller then
    uses the file itself. A font file replaced on disk (same path, new size or time) is cut
    again.
    """
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    with _lock:  # one cut at a time: a cut takes about a second per weight
        if key not in _cuts:
            try:
                _cuts[key] = _cut(path)
            except Exception:  # a broken font file must not break rendering: use the file
                log.warning("cannot cut the CJK font %s; using it whole", path, exc_info=True)
                _cuts[key] = None
        return _cuts[key]
