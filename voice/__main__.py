import sys

from voice.headless import main

sys.exit(main())
