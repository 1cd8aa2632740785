"""The Colab launch end to end, on the built site, as a stranger would meet it.

    python -m tools.colab_e2e [SITE] [--chapter 01_mutual_information]     (after make book)

1. The chapter page's Colab button points at ``colab/NN_slug.ipynb``.
2. ``_build/html`` is served on 127.0.0.1; a fresh virtual environment sees the book's dependencies
   (a ``.pth`` file naming this interpreter's site-packages) but not dlcourse, plus a stand-in
   ``google.colab``. Every cell runs in a Jupyter kernel of that environment, as in Colab (ipykernel
   sets ``FORCE_COLOR=1``, so pip prints colour codes).
3. Refused addresses (the book's site and, through git's ``insteadOf``, the repository): the first
   cell prints why each install failed and raises, so "Run all" stops there.
4. The served site: the first cell installs the wheel, whose ``code_hash()`` must equal the
   notebook's ``library_hash``; then the whole Colab notebook runs under ``DLCOURSE_PROFILE=smoke``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import nbformat

from . import colab, executed

STAND_IN_COLAB = '"""Stand-in for google.colab in tests: only what the install cell touches."""\n'
STAND_IN_DRIVE = ('def mount(mountpoint, **kwargs):\n'
                  '    raise RuntimeError("stand-in google.colab.drive: mount is not available in tests")\n')


def fresh_environment(folder: Path) -> Path:
    """A venv without dlcourse that sees this interpreter's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    # the packages of the book's environment, after the venv's own; its .pth files are not read,
    # so the editable dlcourse installed there stays invisible
    (purelib / "book_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    stand_in = folder / "colab_stand_in" / "google" / "colab"
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text(STAND_IN_COLAB)
    (stand_in / "drive.py").write_text(STAND_IN_DRIVE)
    (purelib / "colab_stand_in.pth").write_text(str(folder / "colab_stand_in") + "\n")
    return python


def serve(site: Path):
    """Serve ``site`` on a free port of 127.0.0.1 in a thread; returns (server, url)."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def clean_env(**extra) -> dict:
    """The environment of the fresh interpreter: no PYTHONPATH (it would show the worktree's dlcourse),
    no package index (everything it needs is already visible), never a git prompt."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", GIT_TERMINAL_PROMPT="0", **extra)
    return env


def run_cell(python: Path, source: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``source`` in the fresh interpreter, from a folder with no dlcourse in it (as in Colab)."""
    return subprocess.run([str(python), "-c", source], capture_output=True, text=True, env=env, timeout=300,
                          cwd=python.parents[2])


def run_in_kernel(python: Path, notebook, env: dict, timeout: int = 600):
    """Execute ``notebook`` (or a list of code cells' sources) in a Jupyter kernel of ``python``,
    from a folder with no dlcourse in it, as Colab's "Run all" does: a cell that raises stops the
    run. Returns the notebook with its outputs and the error (None when every cell ran)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if isinstance(notebook, list):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in notebook])
    with tempfile.TemporaryDirectory() as jupyter:
        spec = Path(jupyter) / "kernels" / "fresh"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "fresh environment", "language": "python"}))
        client = NotebookClient(notebook, timeout=timeout, kernel_name="fresh",
                                resources={"metadata": {"path": str(python.parents[2])}})
        try:
            with mock.patch.dict(os.environ, {"JUPYTER_PATH": jupyter}):
                client.execute(env=env)
        except CellExecutionError as error:
            return notebook, error
    return notebook, None


def printed(cell) -> str:
    """What a executed cell printed (its stdout)."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def refused_address() -> str:
    """An address on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def unreachable(env: dict) -> dict:
    """``env`` with the book's site and the repository (any GitHub address, through git's
    ``insteadOf``) both at a refused address."""
    refused = refused_address()
    return {**env, "DLCOURSE_BOOK_URL": refused, "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{refused}.insteadOf", "GIT_CONFIG_VALUE_0": "https://github.com/"}


def failure_problems(notebook, error) -> list[str]:
    """What is wrong with a run of [install cell, ``import dlcourse``] where nothing can be reached:
    the first cell must print each reason (no colour codes) and a clear last line, then raise."""
    text = printed(notebook.cells[0])
    lines = text.strip().splitlines()
    found = []
    if error is None or error.ename != "RuntimeError" or notebook.cells[1].get("outputs"):
        found.append(f"the install cell must raise RuntimeError and stop the run, got {error!r}")
    if "\x1b" in text or "pip failed" in text or len(lines) != 4:
        found.append(f"expected four plain lines, got {text!r}")
    elif not (lines[0] == "dlcourse could not be installed"
              and lines[1].startswith("  from the book's site: ") and "refused" in lines[1].lower()
              and lines[2].startswith("  from the repository: fatal: ") and "connect" in lines[2].lower()
              and lines[3].startswith("Check that the runtime is online")):
        found.append(f"the reasons are not the refused connections: {text!r}")
    return found


def launch_link_problems(site: Path, chapter: str, config: dict) -> list[str]:
    html = (site / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
    org_repo = config["repo_url"].split("github.com/")[-1]
    wanted = f"https://colab.research.google.com/github/{org_repo}/blob/{config['branch']}/colab/{chapter}.ipynb"
    return [] if links and all(link == wanted for link in links) else [
        f"launch button of chapters/{chapter}.html links to {links}, expected {wanted}"]


def run(site: Path, chapter: str = "01_mutual_information") -> int:
    began = time.time()
    site = Path(site)
    config = colab.site_config()
    notebook = nbformat.read(colab.COLAB / f"{chapter}.ipynb", as_version=4)
    recorded = executed.record(notebook)["library_hash"]
    install = notebook.cells[0].source
    failures = launch_link_problems(site, chapter, config)
    wheel = site / colab.WHEELS_PATH / colab.wheel_name(
        colab.project_metadata((colab.ROOT / "pyproject.toml").read_text())["version"], recorded)
    if not wheel.exists():
        failures.append(f"{wheel} was not written by the book build")
    server, url = serve(site)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            python = fresh_environment(Path(tmp) / "venv")
            env = clean_env(DLCOURSE_BOOK_URL=url, DLCOURSE_DATA=str(Path(tmp) / "data"),
                            DLCOURSE_PROFILE="smoke", TQDM_DISABLE="1", OMP_WAIT_POLICY="PASSIVE",
                            MPLBACKEND="Agg", FORCE_COLOR="1")
            if run_cell(python, "import dlcourse", env).returncode == 0:
                failures.append("dlcourse is importable in the fresh environment before the install")

            ran, error = run_in_kernel(python, [install, "import dlcourse"], unreachable(env))
            failures += failure_problems(ran, error)
            print("refused addresses ->", printed(ran.cells[0]).strip().replace("\n", "\n    "))

            ran, error = run_in_kernel(python, [install], env)
            print(f"served site -> {printed(ran.cells[0]).strip()}")
            if error is not None or printed(ran.cells[0]).strip() != f"dlcourse installed from {url}" \
                    f"{colab.WHEELS_PATH}/{wheel.name}":
                failures.append(f"the install from the served site printed {printed(ran.cells[0])!r}, "
                                f"error {error!r}")
            got = run_cell(python, "from dlcourse.sources import code_hash; import dlcourse; "
                                   "print(code_hash(), dlcourse.__file__)", env).stdout.split()
            if not got or got[0] != recorded or not got[1].startswith(tmp):
                failures.append(f"installed dlcourse {got} is not the recorded {recorded} from the venv")

            if not failures:  # the whole Colab notebook
                started = time.time()
                ran, error = run_in_kernel(python, notebook, env)
                if error is not None:
                    failures.append(f"colab/{chapter}.ipynb failed in the fresh environment: {error}")
                print(f"executed colab/{chapter}.ipynb (smoke) in the fresh environment "
                      f"in {time.time() - started:.1f} s")
    finally:
        server.shutdown()
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"colab e2e {'failed' if failures else 'passed'} in {time.time() - began:.1f} s")
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path, nargs="?", default=colab.ROOT / "_build" / "html")
    parser.add_argument("--chapter", default="01_mutual_information")
    args = parser.parse_args(argv)
    return run(args.site, args.chapter)


if __name__ == "__main__":
    sys.exit(main())
