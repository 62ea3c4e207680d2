"""One run end to end (build, train, test, report), rnnlab-eval's re-test of a checkpoint, and rnnlab-predict."""
