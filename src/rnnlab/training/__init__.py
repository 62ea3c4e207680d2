"""Training and testing a model: the loop and its state, schedules, threads, precision, checkpoints, the test phase."""
