"""`python -m tfxmodal` / `tfxmodal`: the command list lives in `tfxmodal.cli`."""

import sys

from tfxmodal.cli import main

if __name__ == "__main__":
    sys.exit(main())
