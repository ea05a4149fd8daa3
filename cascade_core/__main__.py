import sys

from cascade_core.cli import main

sys.exit(main())
