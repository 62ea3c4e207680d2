"""python -m rnnlab ... is the same as the rnnlab command."""

from rnnlab.cli.train import train

if __name__ == "__main__":
    train()
