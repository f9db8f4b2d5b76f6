"""python -m loader: land new extracts into the warehouse's raw tables."""

import sys

from loader.cli import main

sys.exit(main())
