"""`python -m tfxmodal.data`: the command lives in `tfxmodal.cli.data`."""

import sys

from tfxmodal.cli.data import main

if __name__ == "__main__":
    sys.exit(main())
