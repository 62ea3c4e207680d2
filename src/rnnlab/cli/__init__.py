"""The commands (rnnlab, rnnlab-eval, rnnlab-predict, rnnlab-report) and the check of a command line before any
run starts: the top layer, the only one that prints to the user and exits.
"""
