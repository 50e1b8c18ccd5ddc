"""The README's config snippets are the tested configs' own text: a block that starts with ``# configs/...py`` must
equal that file."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_config_snippets_equal_the_files():
    readme = (REPO / 'README.md').read_text()
    blocks = re.findall(r'```python\n# (configs/\S+\.py)\n(.*?)```', readme, flags=re.S)
    assert len(blocks) >= 3, 'the README shows the drop-in configs'
    for path, text in blocks:
        assert (REPO / path).read_text() == text, f'README snippet of {path} differs from the file'
