"""Run MMPose's own ``tools/*.py`` scripts with this plugin importable.

``tools/train.py`` and ``tools/test.py`` of this repo delegate to the scripts
MMPose installs under ``mmpose/.mim/tools`` (the same ones ``mim train mmpose``
runs), so both entry points share MMPose's flags and behaviour.
"""
import os
import runpy
import sys
from types import TracebackType
from typing import List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mmpose_tool_path(name: str) -> str:
    """Absolute path of MMPose's installed ``tools/<name>``."""
    import mmpose

    path = os.path.join(os.path.dirname(mmpose.__file__), '.mim', 'tools', name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'MMPose tool {name!r} not found at {path}; is mmpose installed '
                                'from a wheel (pip install mmpose==1.3.2)?')
    return path


def run_mmpose_tool(name: str, argv: Optional[List[str]] = None) -> None:
    """Execute MMPose's ``tools/<name>`` as ``__main__`` with ``argv``."""
    path = mmpose_tool_path(name)
    # Configs import swahr_mmpose via custom_imports; make it importable even
    # when the package is not installed (e.g. running from a plain checkout).
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    old_argv = sys.argv
    sys.argv = [path] + list(sys.argv[1:] if argv is None else argv)
    try:
        runpy.run_path(path, run_name='__main__')
    except OSError as err:  # urllib's URLError and socket errors are OSErrors
        message = explain_download_failure(err)
        if message is None:
            raise
        print(message, file=sys.stderr)
        sys.exit(1)
    finally:
        sys.argv = old_argv
    destroy_process_group()


def failed_download_url(traceback: Optional[TracebackType]) -> Optional[str]:
    """The URL MMEngine's ``load_from_http`` was fetching when the exception with this traceback was raised."""
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code.co_name == 'load_from_http' and frame.f_globals.get('__name__') == 'mmengine.runner.checkpoint':
            return frame.f_locals.get('filename')
        traceback = traceback.tb_next
    return None


def explain_download_failure(err: BaseException) -> Optional[str]:
    """What to tell the user when a checkpoint download failed (typically offline: every COCO / CrowdPose config
    fetches ImageNet HRNet weights when training starts); ``None`` if ``err`` is not a failed download."""
    url = failed_download_url(err.__traceback__)
    if url is None:
        return None
    import torch

    cache = os.path.join(torch.hub.get_dir(), 'checkpoints')
    name = os.path.basename(url)
    return (f'ERROR: could not download the weights {url} ({type(err).__name__}: {err}).\n'
            'These are usually the ImageNet-pretrained HRNet weights of model.backbone.init_cfg, fetched when '
            'training starts. To go on:\n'
            f'  - with a local copy of the file: --cfg-options model.backbone.init_cfg.checkpoint=/path/to/{name}\n'
            f'    (or put it into {cache}/, where the download would have gone);\n'
            '  - without pretrained weights (random initialisation; much lower accuracy on real data): '
            '--cfg-options model.backbone.init_cfg=None')


def destroy_process_group() -> None:
    """Destroy the default process group, if a distributed launcher (``--launcher pytorch``) created one.

    MMEngine 0.10.7 never destroys it. torch then destroys gloo's worker threads while the interpreter shuts down,
    which can abort a process whose run succeeded ("terminate called without an active exception", SIGABRT, so
    ``torch.distributed.run`` reports the job as failed; pytorch/pytorch#190489), and NCCL warns since torch 2.4.
    Call it only after the run returned on this rank: after an exception, the other ranks may still be inside a
    collective that a destroy would wait for.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
