"""The README's main job, end to end (slow: ~10-12 minutes on 2 cores; `bash tools/run_tests.sh -m slow`).

Runs `bash tools/quickstart.sh` exactly as the README does (default seed, data and work dir), and the same config
untrained (`--iters 0`), and checks the measured floor: the trained model reaches COCO AP >= 0.15 on the built-in
validation split while the untrained one stays at ~0, the prediction grid is written and the summary carries the
error analysis. Measured numbers: docs/synthetic_results.md.
"""
import json

import pytest

from e2e_helpers import PYTHON, REPO_ROOT, run

MIN_TRAINED_AP = 0.15
MAX_UNTRAINED_AP = 0.001


@pytest.mark.slow
def test_readme_main_job_learns(tmp_path):
    untrained_dir = tmp_path / 'untrained'
    run([
        PYTHON, 'tools/quickstart.py', '--iters', '0', '--work-dir',
        str(untrained_dir), '--num-grid-images', '0', '--no-error-analysis'
    ],
        cwd=REPO_ROOT,
        timeout=1800)
    untrained = json.loads((untrained_dir / 'quickstart_summary.json').read_text())

    run(['bash', 'tools/quickstart.sh'], cwd=REPO_ROOT, timeout=3600, one_thread=False)  # as the README runs it
    work_dir = REPO_ROOT / 'work_dirs' / 'quickstart'
    trained = json.loads((work_dir / 'quickstart_summary.json').read_text())
    print(f"untrained AP {untrained['coco/AP']:.3f}, trained AP {trained['coco/AP']:.3f} "
          f"({trained['iters']} iterations, {trained['train_minutes']:.1f} min)")
    assert untrained['coco/AP'] <= MAX_UNTRAINED_AP
    assert not trained['stopped_early'] and trained['iters'] == trained['planned_iters']
    assert trained['coco/AP'] >= MIN_TRAINED_AP
    assert (work_dir / 'predictions_vs_ground_truth.png').is_file()
    analysis = trained['error_analysis']['ap']
    assert analysis['both oracles'] > 0.95 and analysis['model'] == pytest.approx(trained['coco/AP'], abs=0.02)
