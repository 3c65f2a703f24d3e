import sys

from gru4rec_fast.cli import main

sys.exit(main())
