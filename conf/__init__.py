# Makes conf/ importable as rnnlab.conf (Hydra reads it with pkg://rnnlab.conf). Importing it registers the
# schemas the YAML files extend (/schema/...), so every way of composing these configs finds them.
import rnnlab.config  # noqa: F401
