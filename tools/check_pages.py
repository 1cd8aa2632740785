"""Check the built book the way a reader meets it, and take a screenshot of every chapter page.

    python -m tools.check_pages [--screenshots DIR]

For each chapter page in _build/html: no unrendered glue role, no error output, at least one figure,
and every internal link pointing at an existing page (and anchor). With Debian's chromium installed,
each page is also rendered headless to DIR (default _build/screenshots) for a person to look at.
"""
from __future__ import annotations

import argparse
import html.parser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=10000"]


class Page(html.parser.HTMLParser):
    """Collects the links, ids, images and visible text of one HTML page."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.images, self.text, self.classes = [], set(), 0, [], []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        self.classes.extend((attrs.get("class") or "").split())
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and (attrs.get("src") or "").endswith((".png", ".svg", ".jpg", ".gif")):
            self.images += 1
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def problems(html_dir: Path = HTML) -> list[str]:
    chapters = sorted((html_dir / "chapters").glob("*.html"))
    if not chapters:
        return [f"no chapter pages under {html_dir}: build the book first (make book)"]
    found, cache = [], {}
    for path in chapters:
        page = cache.setdefault(path, parse(path))
        name = path.relative_to(html_dir)
        text = "".join(page.text)
        if "{glue" in text:
            found.append(f"{name}: unrendered glue role")
        if "Traceback (most recent call last)" in text or "traceback" in page.classes:
            found.append(f"{name}: an error output is shown")
        if page.images == 0:
            found.append(f"{name}: no figure")
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("mailto:", "//")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                found.append(f"{name}: broken link {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = cache.setdefault(target, parse(target)).ids
                if parts.fragment not in ids:
                    found.append(f"{name}: link {href} points at a missing anchor")
    return found


def screenshots(out: Path, html_dir: Path = HTML) -> list[Path]:
    """Full-length PNG of every page under chapters/ and book/ (needs Debian's chromium)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: no screenshots (apt-get install chromium)")
        return []
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for path in sorted([*html_dir.glob("chapters/*.html"), *html_dir.glob("book/*.html")]):
        target = out / f"{path.parent.name}_{path.stem}.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                            "--window-size=1280,16000", f"--screenshot={target}", path.as_uri()],
                           check=False, capture_output=True, timeout=120)
        if target.exists():
            made.append(target)
    print(f"{len(made)} screenshot(s) in {out}")
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for page screenshots")
    args = parser.parse_args(argv)
    found = problems()
    print("\n".join(found) if found else "chapter pages: glue rendered, no errors, figures present, links work")
    if args.screenshots is not None:
        screenshots(args.screenshots)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
