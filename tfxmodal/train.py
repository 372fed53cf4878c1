"""`python -m tfxmodal.train`: the command lives in `tfxmodal.cli.train`."""

import sys

from tfxmodal.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
