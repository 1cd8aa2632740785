"""The publishing workflow (.github/workflows/book.yml) passes actionlint, offline, and does what
README's "Publish your own copy" says: make test on every push to main, then the book on Pages."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def actionlint(path: Path) -> subprocess.CompletedProcess:
    """actionlint (the `test` extra installs it) on one workflow file."""
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert binary, "actionlint is missing: pip install -e '.[test]'"
    return subprocess.run([binary, "-no-color", str(path)], capture_output=True, text=True, timeout=120)


def test_workflow_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "book.yml"
    broken.write_text(WORKFLOW.read_text().replace("pages: write", "pages: wrte"))
    result = actionlint(broken)
    assert result.returncode != 0 and "wrte" in result.stdout, result.stdout


def test_workflow_tests_then_deploys_the_built_book():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    assert test["runs-on"] == "ubuntu-latest" and test["container"].startswith("python:3.11-")
    runs = [step.get("run", "") for step in test["steps"]]
    assert "make test" in runs
    upload = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "test" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert workflow["concurrency"]["group"] == "pages"
