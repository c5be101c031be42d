"""Every path that a docstring, comment, doc page or rule names is a file of this repository.

A reference is a word with at least one folder and a known suffix (``docs/stokes.md``,
``stokes_solver/options.py``). It must exist relative to the repository root or to the file
that names it, and must not leave the repository (``../``). Files the pipeline writes under
``results/`` are outputs, not references, and are skipped.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = "md|py|smk|yaml|yml|csv|json|txt|nc|png|sh|toml|rst|cfg"
REFERENCE = re.compile(rf"(?<![\w/.${{}}-])((?:\.\./|\./)?(?:[\w-]+/)+[\w.-]+\.(?:{SUFFIXES}))\b")
READ = {".py", ".md", ".smk", ".yaml", ".yml", ".rst", ".toml", ".sh", ".cfg"}
OUTPUTS = ("results/",)


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.split()
            if (ROOT / name).is_file() and ROOT / name != Path(__file__).resolve()
            and (Path(name).suffix in READ or Path(name).name in {"Snakefile", "Makefile"})]


def dangling(text: str, folder: Path) -> list[str]:
    """The references in ``text``, read as the content of a file in ``folder``, that name no
    file of the repository, as ``line: reference``."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in REFERENCE.finditer(line):
            ref = match.group(1)
            if ref.startswith(OUTPUTS):
                continue
            targets = [(base / ref).resolve() for base in (ROOT, folder)]
            if not any(t.exists() for t in targets if t.is_relative_to(ROOT)):
                out.append(f"{number}: {ref}")
    return out


def test_references_name_files_of_the_repository():
    missing = [f"{path.relative_to(ROOT)}:{item}" for path in repository_files()
               for item in dangling(path.read_text(errors="ignore"), path.parent)]
    assert not missing, "references to files outside the repository or missing:\n" + \
        "\n".join(missing)


def test_the_check_finds_outside_and_missing_references():
    text = "see ../outside/notes.md and docs/no_such_page.md,\nnot docs/stokes.md or results/x.md\n"
    assert dangling(text, ROOT / "docs") == ["1: ../outside/notes.md", "1: docs/no_such_page.md"]
