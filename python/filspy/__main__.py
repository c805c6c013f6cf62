"""python -m filspy: the filspy command."""
import sys

from filspy._cli import main

sys.exit(main())
