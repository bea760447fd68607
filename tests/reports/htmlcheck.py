"""Validate report.html: a strict HTML5 parse plus the rules a self-contained, accessible page keeps."""

from __future__ import annotations

import re
from collections import Counter

import html5lib

EXTERNAL = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:|//|ftp:)""", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|#)", re.IGNORECASE)
IMPORT = re.compile(r"@import", re.IGNORECASE)


def validate(text: str) -> list[str]:
    """Every problem found; an empty list means the page is valid and self-contained."""
    problems: list[str] = []
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    document = parser.parse(text)
    for position, code, data in parser.errors:
        problems.append(f"parse error {code} at {position}: {data}")
    if not text.startswith("<!DOCTYPE html>"):
        problems.append("no <!DOCTYPE html> at the start")
    root = document if document.tag == "html" else document.find("html")
    if root is None or not root.get("lang"):
        problems.append("<html> has no lang")
    if document.find(".//head/title") is None or not (document.find(".//head/title").text or "").strip():
        problems.append("no <title>")
    ids = Counter(e.get("id") for e in document.iter() if e.get("id"))
    problems += [f"duplicate id {i!r}" for i, n in ids.items() if n > 1]
    anchors = {e.get("href")[1:] for e in document.iter("a") if (e.get("href") or "").startswith("#")}
    problems += [f"link to missing #{a}" for a in sorted(anchors - set(ids))]
    if EXTERNAL.search(text):
        problems.append(f"external resource: {EXTERNAL.search(text).group(0)!r}")  # type: ignore[union-attr]
    for style in document.iter("style"):
        if CSS_URL.search(style.text or "") or IMPORT.search(style.text or ""):
            problems.append("stylesheet loads a URL")
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag.endswith("svg") and element.get("role") == "img" and not element.get("aria-label"):
            problems.append("an SVG image has no aria-label")
        if tag in ("script", "link", "img", "iframe") and (element.get("src") or element.get("href")):
            problems.append(f"<{tag}> loads {element.get('src') or element.get('href')}")
    return problems
