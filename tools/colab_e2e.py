"""The Colab launch end to end, on the built site, as a stranger would meet it (``tools/colab.py e2e``).

1. The chapter page's Colab button points at ``colab/NN_slug.ipynb``.
2. ``_build/html`` is served on 127.0.0.1; a fresh virtual environment sees the book's dependencies
   (a ``.pth`` file naming this interpreter's site-packages) but not dlcourse, plus a stand-in
   ``google.colab``. The Colab notebook's first cell, pointed at the served site, installs the
   wheel; the installed package's ``code_hash()`` must equal the notebook's ``library_hash``.
3. The whole Colab notebook runs in that environment under ``DLCOURSE_PROFILE=smoke``.
4. A wrong address: the first cell prints one line and no pip trace.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import nbformat

import colab

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
    recorded = notebook.metadata["dlcourse"]["library_hash"]
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
                            MPLBACKEND="Agg")
            if run_cell(python, "import dlcourse", env).returncode == 0:
                failures.append("dlcourse is importable in the fresh environment before the install")

            wrong = run_cell(python, install, {**env, "DLCOURSE_BOOK_URL": url + "no/such/book/"})
            lines = wrong.stdout.strip().splitlines()
            if wrong.returncode != 0 or len(lines) != 1 or "could not be installed" not in lines[0] \
                    or "Traceback" in wrong.stdout + wrong.stderr:
                failures.append(f"wrong address: expected one line, got rc={wrong.returncode} "
                                f"stdout={wrong.stdout!r} stderr={wrong.stderr[-500:]!r}")
            print(f"wrong address -> {lines[-1] if lines else ''}")

            installed = run_cell(python, install, env)
            print(f"install -> {installed.stdout.strip()}")
            got = run_cell(python, "from dlcourse.sources import code_hash; import dlcourse; "
                                   "print(code_hash(), dlcourse.__file__)", env).stdout.split()
            if not got or got[0] != recorded or not got[1].startswith(tmp):
                failures.append(f"installed dlcourse {got} is not the recorded {recorded} from the venv")

            if not failures:  # the whole Colab notebook, in a kernel of the fresh environment
                from nbclient import NotebookClient
                kernels = Path(tmp) / "jupyter" / "kernels" / "colab-e2e"
                kernels.mkdir(parents=True)
                (kernels / "kernel.json").write_text(json.dumps({
                    "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "colab e2e", "language": "python", "env": env}))
                os.environ["JUPYTER_PATH"] = str(Path(tmp) / "jupyter")
                workdir = Path(tmp) / "content"
                workdir.mkdir()
                started = time.time()
                NotebookClient(notebook, timeout=600, kernel_name="colab-e2e",
                               resources={"metadata": {"path": str(workdir)}}).execute()
                print(f"executed colab/{chapter}.ipynb (smoke) in the fresh environment "
                      f"in {time.time() - started:.1f} s")
    finally:
        server.shutdown()
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"colab e2e {'failed' if failures else 'passed'} in {time.time() - began:.1f} s")
    return 1 if failures else 0
