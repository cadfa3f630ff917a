"""Reading a rendered report site in tests: the links and anchors of its pages."""

from __future__ import annotations

import html.parser
from pathlib import Path
from urllib.parse import unquote, urlparse


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        self.links += [a[k] for k in ("href", "src") if a.get(k)]


def parse(page: Path) -> Links:
    p = Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def broken_links(site: Path) -> list[str]:
    """Every href/src in every page that is external or does not resolve to a file (and #anchor) in the site."""
    broken = []
    for page in site.rglob("*.html"):
        for link in parse(page).links:
            url = urlparse(link)
            if url.scheme or url.netloc:
                broken.append(f"{page.name}: external link {link}")
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not target.is_file():
                broken.append(f"{page.name}: {link}")
            elif url.fragment and target.suffix == ".html" and url.fragment not in parse(target).ids:
                broken.append(f"{page.name}: {link} (no such anchor)")
    return broken
