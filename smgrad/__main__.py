"""python -m smgrad"""

from smgrad.cli import main

main()
