"""Where the repository's configs are, for tools that default to one (a checkout or an installed package)."""
import os.path as osp
from typing import Optional


def find_config(relative_path: str) -> Optional[str]:
    """Absolute path of a repository config such as ``configs/swahr_hrnet_w32_coco.py``: in the installed package's
    ``.mim`` folder (wheels and the setup script's editable install), else in the checkout the package sits in
    (symlinks resolved); ``None`` if neither has it."""
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.join(package_dir, '.mim'), osp.dirname(osp.realpath(package_dir))):
        path = osp.join(root, relative_path)
        if osp.isfile(path):
            return path
    return None
