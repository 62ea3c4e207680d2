"""A sweep's jobs: their composition and up-front check, their dirs and names, sweep.resume, and the claim that keeps
one run dir to one process.
"""
