"""Every reference into ``docs/`` from code, tests, configs and docs names a file and section that exist."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r'docs/([\w.-]+\.md)((?:#[\w-]+)?)((?:``?,? ``?#[\w-]+)*)')


def github_anchors(markdown: str) -> set:
    """GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-'."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r'#+ (.*)', line)
        if match:
            anchors.add(re.sub(r'[^\w\- ]', '', match.group(1).strip().lower()).replace(' ', '-'))
    return anchors


def test_docs_references_resolve():
    files = subprocess.run(['git', 'ls-files', '*.py', '*.md', '*.sh', '*.txt', '*.cfg'],
                           cwd=REPO,
                           check=True,
                           capture_output=True,
                           text=True).stdout.split()
    checked, broken = 0, []
    for name in files:
        text = (REPO / name).read_text(encoding='utf-8')
        for match in REFERENCE.finditer(text):
            target = REPO / 'docs' / match.group(1)
            if not target.is_file():
                broken.append(f'{name}: docs/{match.group(1)} does not exist')
                continue
            anchors = [match.group(2)] + re.findall(r'#[\w-]+', match.group(3))
            known = github_anchors(target.read_text(encoding='utf-8'))
            for anchor in filter(None, anchors):
                checked += 1
                if anchor[1:] not in known:
                    broken.append(f'{name}: docs/{match.group(1)}{anchor} is not a section of that file')
    assert not broken, '\n'.join(broken)
    assert checked >= 15  # the docstrings that cite the reference behaviour
