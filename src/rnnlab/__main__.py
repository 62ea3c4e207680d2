"""python -m rnnlab ... is the same as the rnnlab command."""

from rnnlab.cli.entry import rnnlab

if __name__ == "__main__":
    rnnlab()
