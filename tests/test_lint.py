"""The repository's one style (``setup.cfg``): flake8 at 120 columns, isort's import order and yapf's formatting
(MMPose's yapf style at 120 columns; ``.yapfignore`` lists what it skips), checked on every run."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('command', [
    pytest.param([sys.executable, '-m', 'flake8', '.'], id='flake8'),
    pytest.param([sys.executable, '-m', 'isort', '--check-only', '--diff', '.'], id='isort'),
    pytest.param([sys.executable, '-m', 'yapf', '--diff', '--recursive', '--parallel', '.'], id='yapf'),
])
def test_style(command):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f'{" ".join(command[2:])} found problems (fix them, or run `isort .` / ' \
        f'`yapf -i -r .`):\n{result.stdout}{result.stderr}'
