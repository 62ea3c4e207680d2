"""rnnlab's Hydra plugins (found by Hydra's scan of hydra_plugins/ in a wheel install; rnnlab.cli registers
them too)."""
