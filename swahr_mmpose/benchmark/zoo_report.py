"""The Markdown tables ``tools/benchmark_zoo.py`` prints and writes (from :func:`.zoo.run_zoo_benchmark`'s result).

A cell is a measured number or the reason there is none (``failed: ...``, ``not run: ...``, ``-`` where the
measurement does not apply to the row, e.g. training columns of the test-only multi-scale row).
"""
from typing import Dict, List

MIB = 2**20


def _ok(value) -> bool:
    return isinstance(value, dict) and 'error' not in value


def _err(value) -> str:
    if isinstance(value, dict) and 'error' in value:
        return value['error']
    return str(value) if value is not None else '-'


def _table(header: List[str], rows: List[List[str]]) -> List[str]:

    def line(cells: List[str]) -> str:
        return '| ' + ' | '.join(str(c).replace('|', '\\|') for c in cells) + ' |'  # a regex in a cell: escaped

    return [line(header), '|' + '|'.join('---' for _ in header) + '|'] + [line(r) for r in rows] + ['']


def _mib(m) -> str:
    return f'{m["activations"] / MIB:.0f}' if _ok(m) else _err(m)


def _ms(seconds) -> str:
    return f'{seconds * 1e3:.1f}'


def memory_table(result: Dict[str, object]) -> List[str]:
    gb = result['settings']['memory_gb']
    header = [
        'model', 'input', 'batch/GPU', 'params (M)', 'GFLOPs MMEngine / papers', 'act. MiB/sample fp32', 'amp',
        'fp32 + ckpt', 'amp + ckpt', f'largest batch on {gb:g} GiB: fp32 / amp / amp + ckpt',
        'CUDA max_memory_allocated (fp32 / amp + ckpt, config batch)'
    ]
    rows = []
    for r in result['rows']:
        if r['kind'] == 'test_only':
            continue
        c, m = r.get('complexity'), r.get('memory', {})
        per = m.get('per_sample', {})
        fits = m.get('largest_batch', {})
        if _ok(c):
            mm = f'{c["mmengine_flops"]["total"] / 1e9:.1f}' if 'mmengine_flops' in c else 'not run'
            flops = f'{mm} / {c["official_flops"] / 1e9:.1f}'
        else:
            flops = _err(c)
        params = f'{c["params"]["total"] / 1e6:.2f}' if _ok(c) else _err(c)
        peak = r.get('train', {}).get(
            'cuda_max_memory_allocated',
            'not measured: ' + ('--device cpu' if result['settings']['device'] == 'cpu' else 'train step not run'))
        if isinstance(peak, dict):
            peak = ' / '.join(f'{v / 2**30:.2f} GiB' if isinstance(v, int) else _err(v) for v in peak.values())
        rows.append([
            r['name'], f'{r["input_size"][0]}',
            str(r['batch_per_gpu']), params, flops,
            _mib(per.get('fp32')),
            _mib(per.get('amp')),
            _mib(per.get('fp32_cp')),
            _mib(per.get('amp_cp')), ' / '.join(str(fits.get(k, '-')) for k in ('fp32', 'amp', 'amp_cp')),
            str(peak)
        ])
    return _table(header, rows)


def speed_table(result: Dict[str, object]) -> List[str]:
    device = result['settings']['device']
    header = [
        'model', 'pipeline samples/s (1 worker): ours', 'MMPose targets', 'target step ms: ours / MMPose',
        f'train s/sample ({device}) fp32', 'fp32 + channels-last', 'amp', 'amp + channels-last', 'train batch',
        'workers per GPU'
    ]
    rows = []
    from .pipeline import target_step_seconds
    for r in result['rows']:
        if r['kind'] == 'test_only':
            continue
        p = r.get('pipeline')
        if _ok(p):
            ours, theirs = p['ours'], p.get('mmpose')
            pipe = [
                f'{ours["samples_per_s"]:.2f}', f'{theirs["samples_per_s"]:.2f}' if theirs else '-',
                f'{_ms(target_step_seconds(ours))} / {_ms(target_step_seconds(theirs))}' if theirs else '-'
            ]
        else:
            pipe = [_err(p), '-', '-']
        t = r.get('train', {})
        v = t.get('variants', {})
        train = [
            f'{v[k]["s_per_sample"]:.3f}' if _ok(v.get(k)) else _err(v.get(k))
            for k in ('fp32', 'fp32_cl', 'amp', 'amp_cl')
        ]
        wk = r.get('workers_per_gpu')
        workers = f'{wk["value"]:.3g} -> {wk["workers"]}' if isinstance(wk, dict) else _err(wk)
        rows.append([r['name']] + pipe + train + [f'{t.get("batch", "-")} ({t.get("amp_dtype", "-")})', workers])
    return _table(header, rows)


def pipeline_steps_table(result: Dict[str, object]) -> List[str]:
    lines = []
    for r in result['rows']:
        p = r.get('pipeline')
        if not _ok(p):
            continue
        for label in ('ours', 'mmpose'):
            if label not in p:
                continue
            steps = p[label]['step_s']
            lines.append(f'- {r["name"]}, {label} ({p[label]["people"]:.1f} annotated instances per sample): ' +
                         ', '.join(f'{k.split(":", 1)[-1]} {_ms(v)}' for k, v in steps.items()) + ' ms/sample')
    return lines + ['']


def validation_table(result: Dict[str, object]) -> List[str]:
    people = result['settings']['people']
    header = [
        'model', 'test settings', 'canvas (w, h)', 'total s/img (noise maps)', 'network s', 'aggregation + rest s',
        'grouping ms ours (' + ' / '.join(f'{n}' for n in people) + ' people)', 'MMPose AE decoder ms',
        f's/img with {people[-1]} people (network + aggr. + ours)'
    ]
    rows = []
    for r in result['rows']:
        v = r.get('validation')
        if not _ok(v):
            rows.append([r['name'], _err(v)] + ['-'] * (len(header) - 2))
            continue
        g = v['grouping']
        key = lambda n: g[n] if n in g else g[str(n)]  # noqa: E731  (int keys, str after a JSON round trip)
        settings = ('flip' if v['flip_test'] else 'no flip') + ', scales ' + '/'.join(f'{s:g}' for s in v['scales'])
        rows.append([
            r['name'], settings,
            str(tuple(v['canvas'])), f'{v["total_s"]:.2f}', f'{v["network_s"]:.2f}', f'{v["aggregation_s"]:.2f}',
            ' / '.join(_ms(key(n)['ours_s']) for n in people), ' / '.join(_ms(key(n)['mmpose_s']) for n in people),
            f'{v["network_s"] + v["aggregation_s"] + key(people[-1])["ours_s"]:.2f}'
        ])
    return _table(header, rows)


def deployment_table(result: Dict[str, object]) -> List[str]:
    header = ['model', 'PyTorch img/s (flip)', 'ONNX Runtime img/s', 'ORT vs PyTorch', 'poses agree', 'AP']
    rows = []
    for r in result['rows']:
        d = r.get('deployment')
        if _ok(d):
            a = d.get('agreement') or {}
            cells = [
                f'{1 / d["pytorch_s"]:.3f}', f'{1 / d["onnxruntime_s"]:.3f}',
                f'{d["pytorch_s"] / d["onnxruntime_s"]:.2f}x', f'{a.get("agreed", "-")}/{a.get("images", "-")}'
            ]
        else:
            cells = [_err(d)] + ['-'] * 3
        ap = r.get('ap')
        ap = f'{ap.get("coco/AP", ap.get("crowdpose/AP")):.3f}' if _ok(ap) else _err(ap)
        rows.append([r['name']] + cells + [ap])
    return _table(header, rows)


def iteration_table(result: Dict[str, object]) -> List[str]:
    lines = []
    for r in result['rows']:
        if 'iteration_split' not in r:
            continue
        s = r['iteration_split']
        if not _ok(s):
            lines.append(f'{r["name"]}: iteration split {_err(s)}')
            continue
        parts = ('data', 'forward', 'backward', 'optimizer', 'hooks')
        lines += _table(['model', 'batch', 's/iteration'] + [f'{p} s (%)' for p in parts],
                        [[r['name'], str(s['batch']), f'{s["iteration"]:.3f}'] +
                         [f'{s[p]:.3f} ({100 * s[p] / s["iteration"]:.0f} %)' for p in parts]])
    return lines


def format_zoo_report(result: Dict[str, object]) -> str:
    """All tables, with the run's machine and settings on top."""
    s = result['settings']
    lines = [
        f'Zoo benchmark, {result["date"]}: {result["machine"]}, device {s["device"]}, '
        f'{result["torch_threads"]} torch threads; total {result["total_seconds"] / 60:.1f} min', '',
        '### Memory (activation MiB per training sample, batch-1 forward on the ' +
        ('device under autocast' if s['device'] == 'cuda' else 'meta device') + '; largest batch: 16 bytes '
        f'per parameter for weights, grads and Adam, {s["reserve_gb"]:g} GiB reserve)', ''
    ]
    lines += memory_table(result)
    lines += ['### Data pipeline and train step', '']
    lines += speed_table(result)
    lines += ['Pipeline steps (one worker):', '']
    lines += pipeline_steps_table(result)
    lines += ['### Main job: one training iteration (MMEngine Runner, the config\'s hooks)', '']
    lines += iteration_table(result)
    lines += ['### Validation (one 640x480 image; grouping on synthetic maps at the same canvas)', '']
    lines += validation_table(result)
    lines += ['### Deployment (synthetic 640x480 image, flip test, batch 1) and AP', '']
    lines += deployment_table(result)
    return '\n'.join(lines)
