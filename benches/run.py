#!/usr/bin/env python3
"""vbt benchmark harness (issue #5): vbt against real baselines measured in the same run.

Run it through `scripts/bench` (installs nginx/iperf3/curl, builds vbt). Stdlib only.
The parts live in the vbtbench package beside this file; see benches/README.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vbtbench.cli import main  # noqa: E402  (needs the path above)

if __name__ == "__main__":
    sys.exit(main())
