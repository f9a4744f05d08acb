"""Reading text corpora as documents: plain text, TSV/CSV tables, zip members, bz2/gz, Wikipedia XML dumps.

Hand-written because the formats are small and the libraries that read them pull much more: a
MediaWiki ``pages-articles`` dump is read with the standard library's streaming ``iterparse`` (gensim's
``WikiCorpus`` does the same walk but also strips the markup and needs scipy and smart_open; the
suite keeps the wikitext as it is, which is what a language model sees in such a dump).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import re
import zipfile
from pathlib import Path
from typing import IO, Any

from suite.errors import BadInput

_REDIRECT = re.compile(r"^\s*#redirect", re.IGNORECASE)


def open_text(path: Path, member: str | None = None) -> IO[str]:
    """A text stream over ``path`` (decompressed by its suffix), or over ``member`` inside a zip."""
    try:
        if member is not None or zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            names = archive.namelist()
            if member is None or member not in names:
                raise BadInput(f"{path}: no member {member!r} in the zip (it holds {', '.join(names[:10])})")
            return io.TextIOWrapper(archive.open(member), encoding="utf-8", errors="replace", newline="")
        if path.suffix == ".bz2":
            return io.TextIOWrapper(bz2.open(path), encoding="utf-8", errors="replace", newline="")
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path), encoding="utf-8", errors="replace", newline="")
        return open(path, encoding="utf-8", errors="replace", newline="")
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{path}: cannot read it ({exc})") from None


def read_table(
    path: Path, member: str | None, columns: list[str], delimiter: str | None = None
) -> list[dict[str, str]]:
    """Rows of a TSV/CSV table (header row first) with the named columns, as dicts."""
    name = member or path.name
    delim = delimiter or ("\t" if name.removesuffix(".gz").removesuffix(".bz2").endswith(".tsv") else ",")
    where = f"{path}:{member}" if member else str(path)
    with open_text(path, member) as handle:
        try:
            reader = csv.DictReader(handle, delimiter=delim)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise BadInput(
                    f"{where}: no column(s) {', '.join(map(repr, missing))} (its header: {', '.join(header[:12])})"
                )
            rows = [{c: row.get(c) or "" for c in columns} for row in reader]
        except csv.Error as exc:
            raise BadInput(f"{where}: not a readable {'TSV' if delim == chr(9) else 'CSV'} table ({exc})") from None
    if not rows:
        raise BadInput(f"{where}: the table has no rows")
    return rows


def wiki_pages(path: Path) -> list[dict[str, str]]:
    """``{title, text}`` of every article (namespace 0, not a redirect, not empty) of a MediaWiki XML dump."""
    import xml.etree.ElementTree as ET

    pages: list[dict[str, str]] = []
    try:
        with open_text(path) as handle:
            for _event, element in ET.iterparse(handle, events=("end",)):
                if element.tag.rsplit("}", 1)[-1] != "page":
                    continue
                ns = element.findtext("./{*}ns") or "0"
                text = element.findtext("./{*}revision/{*}text") or ""
                if ns == "0" and text.strip() and not _REDIRECT.match(text):
                    pages.append({"title": element.findtext("./{*}title") or "", "text": text})
                element.clear()
    except ET.ParseError as exc:
        raise BadInput(f"{path}: not a MediaWiki XML dump ({exc})") from None
    return pages


def plain_documents(path: Path) -> list[dict[str, str]]:
    """Paragraphs of a plain text file (separated by blank lines) in order; a file without blank lines
    (one document per line, as gensim's corpora) gives one document per non-empty line."""
    with open_text(path) as handle:
        text = handle.read()
    parts = re.split(r"\n\s*\n", text)
    if len(parts) == 1:
        parts = text.splitlines()
    return [{"title": f"paragraph {i}", "text": part.strip()} for i, part in enumerate(parts) if part.strip()]


def documents(path: Path, fmt: str) -> tuple[list[dict[str, str]], str]:
    """The documents of a corpus file and the format used (``auto``: .xml(.bz2) is a wiki dump)."""
    stem = path.name.removesuffix(".bz2").removesuffix(".gz")
    used = fmt if fmt != "auto" else ("wiki-xml" if ".xml" in stem else "text")
    docs = wiki_pages(path) if used == "wiki-xml" else plain_documents(path)
    if not docs:
        raise BadInput(
            f"{path}: no documents in it (format {used}): expected {'wiki <page> articles' if used == 'wiki-xml' else 'text paragraphs'}"
        )
    return docs, used


def describe_counts(values: Any) -> dict[str, int]:
    """Label -> count, for the record (how many of each class were evaluated)."""
    from collections import Counter

    return dict(sorted(Counter(values).items()))
