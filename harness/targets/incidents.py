"""What a kernel says went wrong: panic/oops/BUG/WARNING text in its log."""
from __future__ import annotations

import re

PANIC_RE = re.compile(r"Kernel panic|Oops|BUG:|WARNING:|general protection fault|Call Trace|"
                      r"Unable to handle kernel|kernel BUG at")
