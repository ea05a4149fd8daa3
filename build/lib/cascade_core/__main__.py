import sys

from cascade_core.cli.main import main

sys.exit(main())
