"""Every command in README.md runs as written.

The commands are the lines of the README's ```bash blocks that start with `lip2speech`, `pip`, `pytest` or
`python` (backslash continuations joined, `&&` parts split). Each `lip2speech ...` command is parsed by the real
click command tree, so an unknown option, a missing argument or a misspelt subcommand fails here; the repository
files the commands name must exist; the cheap commands also run end to end.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

try:  # newer typer releases carry their own copy of click; older ones use click itself
    from typer._click.core import Exit as _Exit
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import Exit as _Exit
    from click.exceptions import UsageError

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
MAX_README_LINES = 250
PREFIXES = ("lip2speech", "pip", "pytest", "python")
# a token naming a file inside the repository: these must exist
REPO_DIRS = ("src/", "benchmarks/", "tests/", "docs/", ".ci/")
TEST_COMMAND = 'pip install torch==2.13.0 -e ".[test]" && pytest'


def bash_blocks(text: str) -> list[str]:
    """The bodies of the ```bash fenced blocks."""
    return re.findall(r"^```bash[ \t]*\n(.*?)^```", text, flags=re.M | re.S)


def block_lines(block: str) -> list[str]:
    """Logical lines of a block: backslash continuations joined, comments and blank lines dropped."""
    lines, current = [], ""
    for raw in block.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return [ln for ln in lines if ln and not ln.startswith("#")]


def tokens_of(line: str) -> list[str]:
    """The line's shell words, a trailing `# comment` (outside quotes) dropped."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def readme_lines() -> list[str]:
    """Every command line of the README's bash blocks, as written."""
    out = []
    for block in bash_blocks(README.read_text(encoding="utf-8")):
        out += [ln for ln in block_lines(block) if ln.startswith(PREFIXES)]
    return out


def readme_commands() -> list[list[str]]:
    """Every command (each `&&` part of a line) as argv tokens."""
    commands = []
    for line in readme_lines():
        current: list[str] = []
        for tok in [*tokens_of(line), "&&"]:
            if tok != "&&":
                current.append(tok)
                continue
            if current and current[0] in PREFIXES:
                commands.append(current)
            current = []
    return commands


def lip2speech_commands() -> list[list[str]]:
    return [c for c in readme_commands() if c[0] == "lip2speech"]


def cli_group():
    import typer.main

    import lip2speech.cli  # noqa: F401  registers the commands on the app
    from lip2speech.cli.app import app

    return typer.main.get_command(app)


def is_group(cmd) -> bool:
    return hasattr(cmd, "resolve_command")


def remaining_args(ctx) -> list[str]:
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def parse(argv: list[str]) -> str:
    """Parse `lip2speech ARGS` down to the leaf command with click's parser; returns the command path. Raises
    UsageError (unknown option or command, missing argument, bad value) when the command does not parse."""
    group = cli_group()
    try:
        ctx = group.make_context("lip2speech", list(argv[1:]), resilient_parsing=False)
    except _Exit as exc:  # an eager option such as --version
        assert exc.exit_code == 0
        return "lip2speech"
    cmd, args, path = group, remaining_args(ctx), ["lip2speech"]
    while is_group(cmd):
        if not args:
            raise UsageError(f"{' '.join(path)}: no subcommand")
        name, sub, args = cmd.resolve_command(ctx, args)
        path.append(name)
        ctx = sub.make_context(name, list(args), parent=ctx, resilient_parsing=False)
        cmd, args = sub, remaining_args(ctx) if is_group(sub) else []
    return " ".join(path)


def command_id(argv: list[str]) -> str:
    return " ".join(argv)[:80]


# ---------------------------------------------------------------------------- the README itself


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines (at most {MAX_README_LINES})"


def test_readme_has_commands():
    names = {c[1] for c in lip2speech_commands() if len(c) > 1}
    assert {"demo", "speak", "models"} <= names


def test_ci_runs_the_readme_test_command():
    assert TEST_COMMAND in readme_lines(), "the README's test command changed"
    ci_lines = [ln.strip() for ln in CI_RUN.read_text().splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")]
    assert TEST_COMMAND in ci_lines, f".ci/run does not run exactly: {TEST_COMMAND}"


def test_quick_start_commands():
    lines = readme_lines()
    assert "pip install torch==2.13.0 -e . && lip2speech demo" in lines
    assert TEST_COMMAND in lines


# ---------------------------------------------------------------------------- every command parses


@pytest.mark.parametrize("argv", lip2speech_commands(), ids=command_id)
def test_lip2speech_command_parses(argv):
    try:
        parse(argv)
    except UsageError as exc:
        pytest.fail(f"`{' '.join(argv)}` does not parse: {exc.format_message()}")


@pytest.mark.parametrize("argv", readme_commands(), ids=command_id)
def test_named_repository_files_exist(argv):
    missing = [tok for tok in argv[1:] if tok.startswith(REPO_DIRS) and not (ROOT / tok).exists()]
    assert not missing, f"`{' '.join(argv)}` names files that do not exist: {missing}"


@pytest.mark.parametrize("argv", [c for c in readme_commands() if c[0] == "python"], ids=command_id)
def test_python_scripts_exist(argv):
    script = next((tok for tok in argv[1:] if not tok.startswith("-")), None)
    assert script is not None and (ROOT / script).is_file(), f"`{' '.join(argv)}`: no script {script}"


def test_parse_rejects_what_it_should():
    """The checker itself: an unknown option, a missing argument and an unknown command fail."""
    for bad in (["lip2speech", "models", "--no-such-option"], ["lip2speech", "speak"],
                ["lip2speech", "no-such-command"]):
        with pytest.raises(UsageError):
            parse(bad)
    assert parse(["lip2speech", "models"]) == "lip2speech models"


# ---------------------------------------------------------------------------- the cheap ones, end to end


def test_models_runs():
    argv = next(c for c in lip2speech_commands() if c[1:] == ["models"])
    from typer.testing import CliRunner

    cli_group()
    from lip2speech.cli.app import app

    result = CliRunner().invoke(app, argv[1:])
    assert result.exit_code == 0, result.output
    assert "grid-s1" in result.output


@pytest.mark.slow
def test_speak_with_the_shipped_clip_runs(tmp_path):
    # the shipped model on the shipped clips (a speak of your own adapted model names your files)
    speak = [c for c in lip2speech_commands() if len(c) > 1 and c[1] == "speak" and "--model" in c]
    assert speak, "the README has no speak command"
    exe = shutil.which("lip2speech")
    if exe is None:
        pytest.skip("the lip2speech console script is not on PATH")
    for argv in speak:
        args = list(argv[1:])
        outputs = {}
        for opt in ("--out", "--video"):  # write into tmp_path, not the checkout
            if opt in args:
                i = args.index(opt) + 1
                outputs[opt] = args[i] = str(tmp_path / Path(args[i]).name)
        proc = subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for path in outputs.values():
            assert Path(path).is_file() and Path(path).stat().st_size > 0, path
