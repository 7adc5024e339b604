import sys

from tflint_save.cli import main

sys.exit(main())
