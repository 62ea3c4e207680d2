# Makes conf/ importable as rnnlab.conf (Hydra reads it with pkg://rnnlab.conf).
