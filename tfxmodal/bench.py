"""`python -m tfxmodal.bench`: the command lives in `tfxmodal.cli.bench`."""

import sys

from tfxmodal.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
