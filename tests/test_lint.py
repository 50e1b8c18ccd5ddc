"""The repository's one style (``setup.cfg``): flake8 at 120 columns and isort's import order, checked on every run."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('command', [
    pytest.param([sys.executable, '-m', 'flake8', '.'], id='flake8'),
    pytest.param([sys.executable, '-m', 'isort', '--check-only', '--diff', '.'], id='isort'),
])
def test_style(command):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f'{" ".join(command[2:])} found problems (fix them or run isort .):\n' \
        f'{result.stdout}{result.stderr}'
