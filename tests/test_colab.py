"""The Colab launch: wheels of the exact code, the generated notebooks, the launch link, the install cell.

The end-to-end run on the built site (serve, fresh environment, execute chapter 01) is
``python -m tools.colab_e2e``, a step of ``make test`` after the book build.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from book._ext import colab_launch
from tools import colab, colab_e2e

ROOT = Path(__file__).resolve().parents[1]


def independent_code_hash(package_dir: Path) -> str:
    """The documented definition: SHA-256 over 'dlcourse/<name>.py' NUL bytes, files sorted by name,
    config.py followed by the data file it reads (if present), 'dlcourse/full_profile.json' NUL bytes."""
    digest = hashlib.sha256()
    for path in sorted(Path(package_dir).glob("*.py"), key=lambda p: p.stem):
        digest.update(f"dlcourse/{path.name}".encode() + b"\0" + path.read_bytes())
        data = Path(package_dir) / "full_profile.json"
        if path.stem == "config" and data.exists():
            digest.update(b"dlcourse/full_profile.json\0" + data.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return colab.build_wheel(ROOT, tmp_path_factory.mktemp("wheels"))


def test_wheel_carries_the_code_its_name_says(wheel):
    library_hash = independent_code_hash(ROOT / "dlcourse")
    assert wheel.name == f"dlcourse-0.1.0+{library_hash[:12]}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for path in (ROOT / "dlcourse").glob("*.py"):
            assert archive.read(f"dlcourse/{path.name}") == path.read_bytes()
        dist_info = f"dlcourse-0.1.0+{library_hash[:12]}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        assert f"Version: 0.1.0+{library_hash[:12]}" in metadata
        assert "Requires-Dist: torch>=2.3" in metadata
        assert "Tag: py3-none-any" in archive.read(f"{dist_info}/WHEEL").decode()
        rows = list(csv.reader(io.StringIO(archive.read(f"{dist_info}/RECORD").decode())))
        assert sorted(row[0] for row in rows) == sorted(names)
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data))


def test_wheel_is_deterministic(wheel, tmp_path):
    assert colab.build_wheel(ROOT, tmp_path).read_bytes() == wheel.read_bytes()


def test_pip_installs_the_wheel_and_the_installed_code_hashes_the_same(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)], check=True)
    assert independent_code_hash(target / "dlcourse") == independent_code_hash(ROOT / "dlcourse")
    assert colab.code_hash_of(target / "dlcourse") == independent_code_hash(ROOT / "dlcourse")


def test_bad_hashes_are_rejected():
    for bad in ("", "abc", "G" * 64, None, "A" * 64):
        with pytest.raises(ValueError, match="library_hash"):
            colab.wheel_version("0.1.0", bad)


def test_commit_for_hash_finds_a_commit_with_that_code():
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    with __import__("tempfile").TemporaryDirectory() as tmp:
        head_hash = independent_code_hash(colab.export_commit("HEAD", Path(tmp)) / "dlcourse")
    commit = colab.commit_for_hash(head_hash)
    with __import__("tempfile").TemporaryDirectory() as tmp:  # the same code and data
        assert independent_code_hash(colab.export_commit(commit, Path(tmp)) / "dlcourse") == head_hash
    assert colab.commit_for_hash("0" * 64) is None


def chapter(library_hash="ab" * 32):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell("print(1 + 1)", execution_count=1,
                                  outputs=[nbformat.v4.new_output("stream", text="2\n")]),
    ])
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "dlcourse": {"library_hash": library_hash, "profile": "quick"}}
    return notebook


CONFIG = {"book_url": "https://example.org/book/", "repo_url": "https://github.com/o/r", "branch": "main"}


def test_colab_notebook_starts_with_the_install_cell_and_keeps_the_outputs():
    source = chapter()
    made = colab.colab_notebook(source, config=CONFIG, base_version="0.1.0", ref="c0ffee", bibliography={})
    install = made.cells[0].source
    assert f'LIBRARY_HASH = "{"ab" * 32}"' in install
    assert "https://example.org/book/_static/wheels/dlcourse-0.1.0+abababababab-py3-none-any.whl" \
        in install.replace('BOOK.rstrip("/") + "/', "https://example.org/book/")
    assert 'SOURCE = "git+https://github.com/o/r@c0ffee"' in install
    assert "\nUSE_DRIVE = False" in install
    compile(install, "install", "exec")
    # then every cell of the chapter, with its outputs
    assert [c.source for c in made.cells[1:]] == [c.source for c in source.cells]
    assert made.cells[2].outputs == source.cells[1].outputs
    assert made.metadata["accelerator"] == "GPU" and made.metadata["colab"]["provenance"] == []
    assert made.metadata["dlcourse"]["library_hash"] == "ab" * 32
    unexecuted = chapter()
    del unexecuted.metadata["dlcourse"]
    with pytest.raises(ValueError, match="library_hash"):
        colab.colab_notebook(unexecuted, config=CONFIG, base_version="0.1.0", ref="main", bibliography={})


def small_book(tmp_path) -> Path:
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "book").mkdir()
    (root / "book" / "references.bib").write_text("")
    shutil.copy(ROOT / "_config.yml", root)
    shutil.copy(ROOT / "pyproject.toml", root)
    shutil.copytree(ROOT / "dlcourse", root / "dlcourse", ignore=shutil.ignore_patterns("__pycache__"))
    nbformat.write(chapter(), root / "chapters" / "01_a.ipynb")
    return root


def test_build_then_check_and_check_sees_any_change(tmp_path):
    root = small_book(tmp_path)
    assert colab.problems(root) == ["colab/01_a.ipynb is missing: run python -m tools.colab build"]
    colab.build(root)
    first = (root / "colab" / "01_a.ipynb").read_text()
    assert colab.problems(root) == []
    colab.build(root)
    assert (root / "colab" / "01_a.ipynb").read_text() == first  # deterministic
    (root / "colab" / "01_a.ipynb").write_text(first.replace("A chapter", "Another chapter"))
    assert colab.problems(root) == ["colab/01_a.ipynb is out of date: run python -m tools.colab build"]
    (root / "colab" / "09_gone.ipynb").write_text(first)
    assert "colab/09_gone.ipynb has no executed chapter: delete it" in colab.problems(root)


def test_site_config_requires_both_addresses(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/o/r\n")
    with pytest.raises(ValueError, match="html.baseurl"):
        colab.site_config(tmp_path)
    assert colab.site_config(ROOT)["repo_url"] == "https://github.com/dlcourse/dlcourse"


def test_launch_button_points_at_the_colab_notebook():
    base = "https://colab.research.google.com"
    theme_url = f"{base}/github/dlcourse/dlcourse/blob/main/chapters/01_mutual_information.ipynb"
    assert colab_launch.colab_url(theme_url, base) == \
        f"{base}/github/dlcourse/dlcourse/blob/main/colab/01_mutual_information.ipynb"
    binder = "https://mybinder.org/v2/gh/dlcourse/dlcourse/main?urlpath=tree/chapters/01_mutual_information.ipynb"
    assert colab_launch.colab_url(binder, base) == binder
    intro = f"{base}/github/dlcourse/dlcourse/blob/main/book/intro.ipynb"
    assert colab_launch.colab_url(intro, base) == intro
    buttons = [{"type": "group", "buttons": [{"type": "link", "url": theme_url}, {"type": "link", "url": binder}]}]
    missing = []
    colab_launch._rewrite(buttons, base, missing)
    assert missing == [] and buttons[0]["buttons"][0]["url"].endswith("/blob/main/colab/01_mutual_information.ipynb")
    assert buttons[0]["buttons"][1]["url"] == binder


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    return colab_e2e.fresh_environment(tmp_path_factory.mktemp("venv") / "venv")


def test_install_cell_offline_in_a_kernel_says_why_and_stops_run_all(fresh_python):
    """In a Jupyter kernel (ipykernel sets FORCE_COLOR=1, so pip colours its errors), with the book's
    site and the repository refused: both reasons, plain, then an error that stops "Run all"."""
    assert colab_e2e.run_cell(fresh_python, "import dlcourse", colab_e2e.clean_env()).returncode != 0
    cell = colab.install_cell("ab" * 32, "0.1.0", CONFIG, "main").source
    env = colab_e2e.unreachable(colab_e2e.clean_env(FORCE_COLOR="1"))
    ran, error = colab_e2e.run_in_kernel(fresh_python, [cell, "import dlcourse"], env)
    lines = colab_e2e.printed(ran.cells[0]).splitlines()
    assert error is not None and error.ename == "RuntimeError", error
    assert ran.cells[1].execution_count is None and ran.cells[1].outputs == []  # never ran
    assert lines[0] == "dlcourse could not be installed", lines
    assert lines[1].startswith("  from the book's site: ") and "Connection refused" in lines[1], lines
    assert lines[2].startswith("  from the repository: fatal: unable to access "), lines
    assert "Failed to connect to 127.0.0.1" in lines[2], lines
    assert lines[3] == (f"Check that the runtime is online and that {env['DLCOURSE_BOOK_URL']}"
                        f"_static/wheels/dlcourse-0.1.0+abababababab-py3-none-any.whl opens, "
                        f"then run this cell again."), lines
    assert len(lines) == 4 and "\x1b" not in "".join(lines)
    assert colab_e2e.failure_problems(ran, error) == []


def test_failure_problems_sees_a_cell_that_goes_on():
    """The e2e check of the refused run fails on the old behaviour: one line, no reason, no stop."""
    ran = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="dlcourse could not be installed (pip failed): check it\n")]),
        nbformat.v4.new_code_cell("import dlcourse", outputs=[nbformat.v4.new_output(
            "error", ename="ModuleNotFoundError", evalue="No module named 'dlcourse'", traceback=[])])])
    assert len(colab_e2e.failure_problems(ran, None)) == 2


def test_pip_reason_strips_colours_and_cuts_between_words():
    """The cell's reason(): git's error first, else pip's last ERROR line, else its diagnostic."""
    namespace = {}
    cell = colab.install_cell("ab" * 32, "0.1.0", CONFIG, "main").source
    exec(cell.split("try:")[0], namespace)  # the definitions only
    reason = namespace["reason"]
    old_pip = ("\x1b[31mERROR: Could not install requirement dlcourse from http://127.0.0.1:9/x.whl because "
               "of error HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
               "/_static/wheels/dlcourse-0.1.0+abababababab-py3-none-any.whl (Caused by NewConnection"
               "Error('Failed to establish a new connection: [Errno 111] Connection refused'))\x1b[0m\n")
    said = reason(old_pip)
    assert said.startswith("Could not install requirement dlcourse from (address) because ")
    assert said.endswith("[Errno 111] Connection refused'))") and " ... " in said and len(said) <= 245
    plain = old_pip[5:-5].replace("http://127.0.0.1:9/x.whl", "(address)")
    assert set(said.split()) - {"..."} <= set(plain.split()), said  # whole words only
    new_pip = ("\x1b[1;31merror\x1b[0m: connection-failed\n\n\x1b[31m×\x1b[0m Failed to connect to "
               "\x1b[1;35m127.0.0.1\x1b[0m while fetching \x1b[4;94mhttp://127.0.0.1:9/x.whl\x1b[0m\n"
               "\x1b[31m╰─>\x1b[0m [Errno 111] Connection refused\n\nhint: Are you connected?\n")
    assert reason(new_pip) == ("Failed to connect to 127.0.0.1 while fetching (address): "
                               "[Errno 111] Connection refused")
    git = ("  × git clone --quiet https://github.com/o/r /tmp/x did not run successfully.\n"
           "  ╰─> [1 lines of output]\n"
           "      fatal: unable to access 'https://github.com/o/r/': Could not resolve host: github.com\n"
           "ERROR: Failed to build 'dlcourse' when git clone --quiet https://github.com/o/r /tmp/x\n")
    assert reason(git) == "fatal: unable to access '(address)': Could not resolve host: github.com"


def test_install_cell_does_nothing_outside_colab(fresh_python):
    env = colab_e2e.clean_env(DLCOURSE_BOOK_URL="http://127.0.0.1:9/")
    hide_colab = "import sys; sys.modules['google.colab'] = None\n"  # `import google.colab` now fails
    cell = colab.install_cell("ab" * 32, "0.1.0", CONFIG, "main").source
    result = colab_e2e.run_cell(fresh_python, hide_colab + cell, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_check_ignores_only_the_fallback_commit():
    """A shallow clone finds another 'oldest commit' for the same code: check must not fail on
    that, but must still see any other difference."""
    line = 'SOURCE = \\"git+https://github.com/o/r@{}\\"  # the same code'
    assert colab._without_fallback_ref(line.format("abc123")) == colab._without_fallback_ref(line.format("main"))
    other = line.format("abc123").replace("o/r", "o/other")
    assert colab._without_fallback_ref(other) != colab._without_fallback_ref(line.format("abc123"))


def test_generation_is_deterministic():
    """Two builds of the Colab notebooks give the same text (cell ids included), or
    `colab.py check` could never pass."""
    first = colab.generate()
    assert colab.generate() == first



def test_check_fails_loudly_on_markdown_it_cannot_render(tmp_path, monkeypatch, capsys):
    root = small_book(tmp_path)
    notebook = nbformat.read(root / "chapters" / "01_a.ipynb", as_version=4)
    notebook.cells[0].source += "\n\nSee {numref}`fig-loss`."
    nbformat.write(notebook, root / "chapters" / "01_a.ipynb")
    with pytest.raises(ValueError, match=r"chapters/01_a, cell 0: unknown MyST role \{numref\}") as caught:
        colab.problems(root)

    def problems():
        raise caught.value

    monkeypatch.setattr(colab, "problems", problems)  # main() on this book, not the course
    assert colab.main(["check"]) == 1
    assert "error: chapters/01_a, cell 0: unknown MyST role {numref}" in capsys.readouterr().out
