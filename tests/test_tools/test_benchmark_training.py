"""swahr_mmpose.benchmark.training and tools/benchmark_training.py run and report both sides (no speed bound here:
a shared 2-core machine is too noisy to assert ratios)."""
import os.path as osp
import runpy

from swahr_mmpose.benchmark.training import benchmark_ae_loss, benchmark_targets

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_benchmarks_measure_both_sides():
    targets = benchmark_targets(num_people=3, input_size=64, repeats=1)
    ae = benchmark_ae_loss(batch_size=2, num_people=3, size=16, repeats=1)
    for result in (targets, ae):
        assert result['ours_s'] > 0 and result['mmpose_s'] > 0
        assert result['speedup'] == result['mmpose_s'] / result['ours_s']


def test_cli_prints_a_row_per_benchmark(capsys, monkeypatch):
    tool = runpy.run_path(osp.join(REPO, 'tools', 'benchmark_training.py'))
    import swahr_mmpose.benchmark.training as training
    small_targets, small_ae = training.benchmark_targets, training.benchmark_ae_loss
    monkeypatch.setitem(tool['main'].__globals__, 'benchmark_targets',
                        lambda: small_targets(num_people=3, input_size=64, repeats=1))
    monkeypatch.setitem(tool['main'].__globals__, 'benchmark_ae_loss',
                        lambda device: small_ae(batch_size=2, num_people=3, size=16, repeats=1, device=device))
    assert tool['main']([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert 'MMPose 1.3.2' in out[0] and len(out) == 3 and all(' ms ' in line for line in out[1:])
