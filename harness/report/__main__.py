"""python3 -m harness.report report|compare|merge ..."""
import sys

from harness.report.cli import main

sys.exit(main())
