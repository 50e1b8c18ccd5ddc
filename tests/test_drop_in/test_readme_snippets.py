"""The config snippets the README and docs/components.md show are the tested configs' own text: a block that starts
with ``# configs/...py`` must equal that file."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_config_snippets_equal_the_files():
    blocks = {}
    for page in ('README.md', 'docs/components.md'):
        text = (REPO / page).read_text()
        blocks[page] = re.findall(r'```python\n# (configs/\S+\.py)\n(.*?)```', text, flags=re.S)
    assert blocks['README.md'], 'the README shows a drop-in config'
    assert len(blocks['docs/components.md']) >= 3, 'docs/components.md shows the three drop-in configs'
    for page, page_blocks in blocks.items():
        for path, snippet in page_blocks:
            assert (REPO / path).read_text() == snippet, f'{page}: the snippet of {path} differs from the file'
