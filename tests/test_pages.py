"""The reader-side page checks catch what they claim to catch."""
from tools import check_pages as pages


def _site(tmp_path, body, other='<h1 id="top">Other</h1>'):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "other.html").write_text(f"<html><body>{other}</body></html>")
    (tmp_path / "chapters" / "01_x.html").write_text(f"<html><body>{body}</body></html>")
    return tmp_path


def test_a_good_page_passes(tmp_path):
    site = _site(tmp_path, '<img src="a.png"><a href="../book/other.html#top">x</a>'
                           '<a href="https://example.org">y</a><a href="#here" id="here">z</a>')
    assert pages.problems(site) == []


def test_each_defect_is_reported(tmp_path):
    site = _site(tmp_path, "<p>{glue:text}`x`</p><div class='output traceback'>Traceback (most recent "
                           "call last)</div><a href='../book/missing.html'>a</a>"
                           "<a href='../book/other.html#nowhere'>b</a>"
                           "<script>var s = '{glue';</script>")
    found = "\n".join(pages.problems(site))
    for phrase in ("unrendered glue", "error output", "no figure", "broken link ../book/missing.html",
                   "missing anchor"):
        assert phrase in found, found


def test_no_chapter_pages_means_build_first(tmp_path):
    assert "build the book first" in pages.problems(tmp_path)[0]
