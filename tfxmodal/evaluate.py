"""`python -m tfxmodal.evaluate`: the command lives in `tfxmodal.cli.evaluate`."""

import sys

from tfxmodal.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
