"""The CPU tools let waiting OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE) unless the user chose a policy, and the
thread-settings benchmark measures what it says (docs/cpu_threads.md)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swahr_mmpose.benchmark.threads import compare_thread_settings

REPO = Path(__file__).resolve().parents[2]
PYTHON_TOOLS = ('benchmark_decoder.py', 'benchmark_inference.py', 'benchmark_training.py', 'benchmark_zoo.py')

CHECK_PYTHON_TOOLS = '''
import os, runpy, sys
for tool in sys.argv[2:]:
    os.environ.pop('OMP_WAIT_POLICY', None)
    if sys.argv[1]:
        os.environ['OMP_WAIT_POLICY'] = sys.argv[1]
    runpy.run_path(tool, run_name='not_main')  # the module body (imports, defaults), not main()
    print(os.environ['OMP_WAIT_POLICY'])
'''


@pytest.mark.parametrize('user_value,expected', [('', 'PASSIVE'), ('ACTIVE', 'ACTIVE')])
def test_python_tools_default_to_passive_and_keep_the_users_policy(user_value, expected):
    tools = [str(REPO / 'tools' / name) for name in PYTHON_TOOLS]
    out = subprocess.run(
        [sys.executable, '-c', CHECK_PYTHON_TOOLS, user_value] + tools,
        capture_output=True,
        text=True,
        timeout=300,
        check=True).stdout.split()
    assert out == [expected] * len(tools)


@pytest.mark.parametrize('script', ['run_tests.sh'])
def test_shell_tools_default_to_passive_and_keep_the_users_policy(script):
    lines = (REPO / 'tools' / script).read_text().splitlines()
    (setting, ) = [ln for ln in lines if ln.startswith('export OMP_WAIT_POLICY=')]
    assert lines.index(setting) < next(i for i, ln in enumerate(lines) if ln.startswith('exec '))
    env = {k: v for k, v in os.environ.items() if k != 'OMP_WAIT_POLICY'}
    for user_value, expected in ((None, 'PASSIVE'), ('ACTIVE', 'ACTIVE')):
        if user_value:
            env['OMP_WAIT_POLICY'] = user_value
        out = subprocess.run(['bash', '-c', f'{setting}; echo "$OMP_WAIT_POLICY"'],
                             env=env,
                             capture_output=True,
                             text=True,
                             check=True).stdout.strip()
        assert out == expected


def test_main_job_keeps_the_openmp_default_its_published_time_was_measured_with():
    assert 'export OMP_WAIT_POLICY' not in (REPO / 'tools' / 'quickstart.sh').read_text()


def test_thread_settings_benchmark_measures_every_setting_under_every_load():
    rows = compare_thread_settings(
        str(REPO / 'configs' / 'swahr_hrnet_w32_synthetic.py'),
        settings=(('PASSIVE', 1), ),
        burners=(0, 1),
        steps=1,
        batch_size=1)
    assert [(r['burners'], r['wait_policy'], r['threads']) for r in rows] == [(0, 'PASSIVE', 1), (1, 'PASSIVE', 1)]
    assert all(r['seconds'] > 0 for r in rows)
    assert all('load average' in r['machine'] for r in rows)
