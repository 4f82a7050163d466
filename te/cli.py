"""``te-solve``: placeholder until the TE engine lands."""
import sys


def main(argv=None):
    print("te-solve: not implemented yet", file=sys.stderr)
    return 2
