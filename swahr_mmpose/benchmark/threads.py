"""OpenMP wait policy and thread count for CPU training, measured with and without a competing CPU-bound process.

OpenMP's default (and ``ACTIVE``) wait policy lets idle worker threads spin for a while before sleeping; ``PASSIVE``
puts them to sleep at once. Spinning wins on an idle machine (no wake-up latency) and loses on a loaded one, where
the spinning threads take the cores the working ones need. The policy is read once, when libgomp starts, so every
setting runs in its own process (:func:`training_step_seconds` in a child).

One measurement = the median seconds of a training step (forward, loss, backward, Adam) of the synthetic config's
model on a random batch, so only the math under OpenMP differs between settings, not data loading.
"""
import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

#: (OMP_WAIT_POLICY or None for the default, torch threads)
DEFAULT_SETTINGS: Tuple[Tuple[Optional[str], int], ...] = ((None, 1), (None, 2), ('ACTIVE', 2), ('PASSIVE', 2))
_CHILD = 'swahr_mmpose.benchmark.threads'


def training_step_seconds(config: str,
                          threads: int,
                          steps: int = 8,
                          warmup: int = 1,
                          batch_size: Optional[int] = None) -> float:
    """Median seconds of one training step of ``config``'s model (runs in this process, under its OpenMP settings).

    Args:
        config: model config (its ``codec.input_size`` and ``train_dataloader.batch_size`` size the batch).
        threads: ``torch.set_num_threads``.
        steps, warmup: timed and untimed steps.
        batch_size: overrides the config's.
    """
    import statistics

    import torch
    from mmengine.config import Config
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import swahr_mmpose  # noqa: F401

    register_all_modules()
    torch.set_num_threads(threads)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    # channels-last, as the synthetic config's ChannelsLastHook trains
    model = MODELS.build(cfg.model).train().to(memory_format=torch.channels_last)
    width, height = cfg.codec.input_size
    inputs = torch.randn(batch_size or cfg.train_dataloader.batch_size, 3, height,
                         width).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        outputs = model(inputs, None, mode='tensor')
        loss = sum((out.float()**2).mean() for out in outputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _busy_loop() -> None:  # pragma: no cover - runs in the burner process
    while True:
        pass


def machine_state() -> str:
    """Load average and the busiest processes, to say what else was running."""
    load = ', '.join(f'{v:.2f}' for v in os.getloadavg())
    try:
        top = subprocess.run(['ps', '-eo', 'pcpu,args', '--sort=-pcpu'], capture_output=True, text=True,
                             timeout=10).stdout.splitlines()[1:6]
    except (OSError, subprocess.SubprocessError):
        top = []
    return f'load average {load} on {os.cpu_count()} CPUs; busiest: ' + '; '.join(line.strip()[:90] for line in top)


def compare_thread_settings(config: str,
                            settings: Sequence[Tuple[Optional[str], int]] = DEFAULT_SETTINGS,
                            burners: Sequence[int] = (0, 1),
                            steps: int = 8,
                            rounds: int = 1,
                            batch_size: Optional[int] = None) -> List[Dict[str, object]]:
    """Every setting under every extra load (``burners`` single-thread busy loops), interleaved, in one run.

    Returns:
        rows of ``burners``, ``wait_policy`` (``'default'`` or the value), ``threads``, ``seconds`` (median over
        ``rounds`` of the median step time) and ``machine`` (:func:`machine_state` before the run).
    """
    import statistics

    rows = []
    for extra in burners:
        procs = [
            subprocess.Popen([sys.executable, '-c', f'import {_CHILD} as m; m._busy_loop()']) for _ in range(extra)
        ]
        try:
            time.sleep(1.0 if extra else 0.0)
            results: Dict[Tuple[Optional[str], int], List[float]] = {s: [] for s in settings}
            state = machine_state()
            for _ in range(rounds):
                for policy, threads in settings:
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                    env.pop('OMP_WAIT_POLICY', None)
                    if policy:
                        env['OMP_WAIT_POLICY'] = policy
                    out = subprocess.run(
                        [sys.executable, '-m', _CHILD, config,
                         str(threads),
                         str(steps),
                         str(batch_size or 0)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=1800).stdout
                    results[(policy, threads)].append(json.loads(out.strip().splitlines()[-1])['seconds'])
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        rows += [
            dict(
                burners=extra,
                wait_policy=policy or 'default',
                threads=threads,
                seconds=statistics.median(values),
                machine=state) for (policy, threads), values in results.items()
        ]
    return rows


if __name__ == '__main__':  # the child: one setting, one process
    config, threads, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(dict(seconds=training_step_seconds(config, threads, steps, batch_size=batch or None))))
