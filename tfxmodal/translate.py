"""`python -m tfxmodal.translate`: the command lives in `tfxmodal.cli.translate`."""

import sys

from tfxmodal.cli.translate import main

if __name__ == "__main__":
    sys.exit(main())
