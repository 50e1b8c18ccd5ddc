# Runtime shared by every swahr_mmpose config: MMPose's runtime plus the plugin import.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['swahr_mmpose'], allow_failed_imports=False)

custom_hooks = [
    dict(type='SyncBuffersHook'),  # MMPose's runtime: BN statistics averaged over ranks after each epoch
    # Before the first iteration: data, codec, head and network agree; the evaluators' annotation files are valid
    # (CocoMetric reads its own copy).
    dict(type='ConsistencyCheckHook'),
    dict(type='EvaluatorAnnotationCheckHook'),
    # A non-finite loss term (or one above 1e4; these models train at < 1) stops training on every rank, and no
    # checkpoint of a diverged model is saved.
    dict(type='DivergenceGuardHook', max_loss=1e4),
    # load_from, resume and tools/test.py fail on a checkpoint with missing, unexpected or differently shaped
    # tensors (MMEngine only warns and keeps random weights there).
    dict(type='StrictCheckpointLoadHook'),
    # resume=True (--resume) with no checkpoint in the work dir stops instead of training from scratch.
    dict(type='ResumeCheckHook'),
]
# Fine-tuning from another model (e.g. other joints): load_from loads what fits and logs a one-line summary.
load_partial = False
# With resume=True and nothing to resume: start from scratch instead of failing.
allow_fresh_start = False

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    # MMEngine's CheckpointHook, but checkpoints are written atomically and old ones removed only after the new
    # one is complete: a crash while saving never loses the last good checkpoint (any max_keep_ckpts).
    checkpoint=dict(type='AtomicCheckpointHook', interval=10, max_keep_ckpts=3, save_best='coco/AP', rule='greater'))

# MMPose 1.3.2's PoseLocalVisualizer cannot draw keypoints under NumPy 2
# (it calls int() on a 1-element array); this subclass fixes only that.
visualizer = dict(type='NumpyCompatPoseLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
