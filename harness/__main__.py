"""python3 -m harness VERB ... (wrapped by ./shmconform)."""
from __future__ import annotations

import sys

from harness import cli

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
