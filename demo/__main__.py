"""`python -m demo`: see demo/tour.py."""

import sys

from demo.tour import main

sys.exit(main())
