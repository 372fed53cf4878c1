"""`python -m tfxmodal.reference_docs`: the command lives in `tfxmodal.cli.reference_docs`."""

import sys

from tfxmodal.cli.reference_docs import main

if __name__ == "__main__":
    sys.exit(main())
