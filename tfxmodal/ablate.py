"""`python -m tfxmodal.ablate`: the command lives in `tfxmodal.cli.ablate`."""

import sys

from tfxmodal.cli.ablate import main

if __name__ == "__main__":
    sys.exit(main())
