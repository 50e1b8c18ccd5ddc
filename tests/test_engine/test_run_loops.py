"""The start-of-run checks read the loops through the Runner's public properties (``train_loop``, ``val_loop``,
``test_loop``) when the loops start, once per loop, instead of MMEngine's private ``_train_loop`` attributes."""
from types import SimpleNamespace

from mmengine.runner import BaseLoop

from swahr_mmpose.engine.hooks import (ConsistencyCheckHook, EvaluatorAnnotationCheckHook, annotation_check,
                                       consistency_check)


class _Loop(BaseLoop):

    def __init__(self, name, evaluator=None):
        super().__init__(runner=None, dataloader=SimpleNamespace(dataset=f'{name} dataset'))
        if evaluator is not None:
            self.evaluator = evaluator

    def run(self):
        pass


def _runner(**loops):
    """Only the public API: an attribute error would show a private one being read."""
    return SimpleNamespace(
        model='model', train_loop=loops.get('train'), val_loop=loops.get('val'), test_loop=loops.get('test'))


def test_consistency_check_runs_when_the_loops_start_once_each(monkeypatch):
    calls = []

    def record(model, datasets, check_stride, *evaluators, **keypoint_order_options):
        calls.append((sorted(datasets.values()), check_stride))

    monkeypatch.setattr(consistency_check, 'check_model_data_consistency', record)
    hook = ConsistencyCheckHook()
    runner = _runner(train=_Loop('train'), val=_Loop('val'))
    hook.before_train(runner)
    hook.before_val(runner)  # every validation of the training run starts the val loop again
    hook.before_val(runner)
    assert calls == [(['train dataset', 'val dataset'], True)]
    hook.before_test(_runner(test=_Loop('test')))  # a test run with the same hook: its loop, no second forward
    assert calls[1:] == [(['test dataset'], False)]


def test_evaluator_check_runs_for_each_evaluated_loop_once(monkeypatch):
    checked = []
    monkeypatch.setattr(EvaluatorAnnotationCheckHook, 'check_metric',
                        staticmethod(lambda metric, name, policy, k: checked.append((metric, name, policy))))
    hook = EvaluatorAnnotationCheckHook()
    runner = _runner(train=_Loop('train'), val=_Loop('val', SimpleNamespace(metrics=['val metric'])))
    hook.before_train(runner)
    hook.before_val(runner)
    hook.before_test(_runner(test=_Loop('test', SimpleNamespace(metrics=['test metric']))))
    assert checked == [('val metric', 'val', 'raise'), ('test metric', 'test', 'raise')]
    assert annotation_check.loops_of_stage is consistency_check.loops_of_stage
