"""Table of several quickstart runs (e.g. SWAHR vs HigherHRNet over seeds): mean ± std per config.

Usage: python tools/summarize_quickstarts.py work_dirs/compare/*/quickstart_summary.json
"""
import sys

from swahr_mmpose.quickstart import summarize_runs

if __name__ == '__main__':
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print('\n'.join(summarize_runs(sys.argv[1:])))
