"""MMEngine's ``CheckpointHook``, but a crash while saving never loses the last good checkpoint.

MMEngine 0.10.7 (``CheckpointHook._save_checkpoint_with_step`` / ``_save_best_checkpoint``) removes the oldest
regular checkpoint (``max_keep_ckpts``) and the previous ``best_*.pth`` *before* it writes the new one, and
``LocalBackend.put`` writes the new file in place. A crash (SIGKILL, out of memory, a full disk) in between leaves
a half-written file and no previous one; with ``max_keep_ckpts=1`` nothing is left to resume from.

:class:`AtomicCheckpointHook` changes exactly these two things:

* checkpoints on a local disk are written to a hidden temporary file in the same folder (``.NAME.partial``),
  flushed and fsynced, then renamed over ``NAME`` with ``os.replace`` (atomic on POSIX and Windows), and the
  folder is fsynced: a checkpoint file is either complete or absent;
* checkpoints that MMEngine removes (oldest regular one, previous best) are removed only after the new one was
  written, so ``last_checkpoint`` always names a complete file.

Other storage backends (``backend_args``, ``file_client_args``) keep MMEngine's behaviour.
"""
import contextlib
import os
import os.path as osp
from typing import Iterator, List, Tuple, Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmpose.registry import HOOKS

ATOMIC_BACKEND = 'swahr_atomic_local'
PARTIAL_SUFFIX = '.partial'


def partial_path(filepath: Union[str, os.PathLike]) -> str:
    """The temporary file a checkpoint is written to before it is renamed (hidden: not matched by ``*.pth``)."""
    folder, name = osp.split(str(filepath))
    return osp.join(folder, f'.{name}{PARTIAL_SUFFIX}')


def _fsync_folder(folder: str) -> None:
    """Make a rename durable (POSIX); opening a folder is not possible on Windows, where it is not needed."""
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(data: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``data`` to ``filepath`` so that ``filepath`` is either its old content or all of ``data``."""
    filepath = str(filepath)
    folder = osp.dirname(filepath)
    os.makedirs(folder or '.', exist_ok=True)
    tmp = partial_path(filepath)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


@register_backend(ATOMIC_BACKEND, force=True)  # force: importing the module twice must not fail
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` (what ``mmengine.runner.save_checkpoint`` calls) is atomic."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        atomic_write_bytes(obj, filepath)


class _DeferredRemovals:
    """A file backend proxy that records ``remove`` / ``rmtree`` instead of doing them."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.pending: List[Tuple[str, str]] = []

    def remove(self, filepath) -> None:
        self.pending.append(('remove', filepath))

    def rmtree(self, dir_path) -> None:
        self.pending.append(('rmtree', dir_path))

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with atomic local writes and removals after the new checkpoint is complete.

    Takes exactly ``CheckpointHook``'s arguments (``interval``, ``max_keep_ckpts``, ``save_best``, ``save_last``,
    ...); see the module docstring for what differs.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        # Only MMEngine's plain local backend is swapped; any backend the user configured is kept as it is.
        if self.file_client_args is None and self.backend_args is None and type(self.file_backend) is LocalBackend:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
            self.file_backend = AtomicLocalBackend()

    @contextlib.contextmanager
    def _removals_after_save(self) -> Iterator[None]:
        """Run MMEngine's save with its removals recorded, and do them only if the save returned."""
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        for action, path in deferred.pending:
            getattr(backend, action)(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        with self._removals_after_save():
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._removals_after_save():
            super()._save_best_checkpoint(runner, metrics)


__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'atomic_write_bytes', 'partial_path']
