"""The text of a PDF as WeasyPrint writes it, for tests (no pdftotext or PDF library here).

WeasyPrint (through pydyf) writes its objects plainly or packed in object streams, compresses
streams with FlateDecode, and draws text with Type 0 fonts: every glyph is a 2-byte code in a
``<...> Tj`` or ``[...] TJ`` string, and each font carries a ``/ToUnicode`` CMap mapping codes to
Unicode (so that viewers can copy text). Reading those three things gives back the text a
viewer would copy, line by line (a line per text-positioning operator), which is what the tests
check — without trusting anything of the renderer but its output bytes.
"""

from __future__ import annotations

import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)\s*endobj", re.S)
_STREAM = re.compile(rb"^(.*?)stream\r?\n(.*)\r?\nendstream$", re.S)
_REFERENCE = re.compile(rb"/([^\s/<>\[\]()]+)\s+(\d+) 0 R")
_TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+) 0 R")
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")
# A font selection, a TJ array, a Tj string, or a move to a new line.
_TOKEN = re.compile(rb"/([^\s/\[\]<>()]+)\s+[\d.]+\s+Tf|(\[[^\]]*\])\s*TJ"
                    rb"|(<[0-9A-Fa-f\s]*>)\s*Tj|(Tm|Td|TD|T\*)\b")


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream data or None), object streams opened."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for match in _OBJECT.finditer(pdf):
        number, body = int(match.group(1)), match.group(2)
        stream = _STREAM.match(body)
        if stream is None:
            found[number] = (body, None)
            continue
        head, data = stream.groups()
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        found[number] = (head, data)
        if b"/ObjStm" in head:
            first = int(re.search(rb"/First\s+(\d+)", head).group(1))  # type: ignore[union-attr]
            pairs = [int(n) for n in data[:first].split()]
            offsets = list(zip(pairs[::2], pairs[1::2], strict=True))
            for index, (inner, offset) in enumerate(offsets):
                end = offsets[index + 1][1] if index + 1 < len(offsets) else len(data) - first
                found[inner] = (data[first + offset:first + end].strip(), None)
    return found


def _utf16(hex_digits: bytes) -> str:
    return bytes.fromhex(hex_digits.decode()).decode("utf-16-be")


def _cmap(data: bytes) -> dict[int, str]:
    """A ToUnicode CMap's ``bfchar`` and ``bfrange`` entries: glyph code → text."""
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        codes = _HEX.findall(block)
        for source, target in zip(codes[::2], codes[1::2], strict=True):
            mapping[int(source, 16)] = _utf16(target)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for line in block.strip().splitlines():
            parts = _HEX.findall(line)
            if len(parts) != 3:
                continue
            low, high, start = int(parts[0], 16), int(parts[1], 16), parts[2]
            first = _utf16(start)
            for offset in range(high - low + 1):
                mapping[low + offset] = first[:-1] + chr(ord(first[-1]) + offset)
    return mapping


def _fonts(objects: dict[int, tuple[bytes, bytes | None]]) -> dict[bytes, dict[int, str]]:
    """Resource name of each font (``/BAWKYD``) → its ToUnicode mapping."""
    cmaps: dict[int, dict[int, str]] = {}
    for number, (head, _data) in objects.items():
        to_unicode = _TO_UNICODE.search(head)
        if to_unicode:
            stream = objects[int(to_unicode.group(1))][1] or b""
            cmaps[number] = _cmap(stream)
    names: dict[bytes, dict[int, str]] = {}
    for head, _data in objects.values():
        for name, number in _REFERENCE.findall(head):
            if int(number) in cmaps:
                names[name] = cmaps[int(number)]
    return names


def pdf_text(pdf: bytes) -> str:
    """The text drawn in ``pdf``: one line per text-positioning operator, pages in order of
    their content streams."""
    objects = _objects(pdf)
    fonts = _fonts(objects)
    lines: list[str] = []
    pages = [head for _number, (head, _data) in sorted(objects.items())
             if re.search(rb"/Type\s*/Page\b", head)]
    for page in pages:
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", page)
        numbers = [int(n) for n in re.findall(rb"(\d+) 0 R", contents.group(1))] if contents else []
        data = b"\n".join(objects[n][1] or b"" for n in numbers)
        font: dict[int, str] = {}
        line = ""
        for match in _TOKEN.finditer(data):
            name, array, single, move = match.groups()
            if name is not None:
                font = fonts.get(name, {})
            elif move is not None:
                if line.strip():
                    lines.append(line.strip())
                line = ""
            else:
                for hex_string in _HEX.findall(array or single):
                    digits = re.sub(rb"\s", b"", hex_string)
                    for index in range(0, len(digits), 4):
                        line += font.get(int(digits[index:index + 4], 16), "\ufffd")
        if line.strip():
            lines.append(line.strip())
    return "\n".join(lines)


def pdf_language(pdf: bytes) -> str | None:
    """The document's language (the catalog's ``/Lang``), which WeasyPrint takes from
    ``<html lang>``; None when there is none."""
    for head, _data in _objects(pdf).values():
        if re.search(rb"/Type\s*/Catalog\b", head):
            found = re.search(rb"/Lang\s*\(([^)]*)\)", head)
            return found.group(1).decode() if found else None
    return None
