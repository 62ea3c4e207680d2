# Makes conf/ importable as rnnlab.conf (Hydra reads it with pkg://rnnlab.conf). Importing it registers the
# schemas the YAML files extend (/schema/...) and the resolvers config.yaml names job dirs with, so every way of
# composing these configs finds them.
import warnings

import rnnlab.config.schemas  # noqa: F401
import rnnlab.sweeps.resume  # noqa: F401

# hydra/launcher/ray.yaml and hydra/sweeper/basic.yaml take the place of configs of the same name on purpose (the
# Ray plugin's keys then exist without `+`; the basic sweeper checks a sweep faster). Hydra 1.3 still merges each
# with the one it shadows, and warns at every composition that it may stop (basic.yaml names every key it needs).
warnings.filterwarnings("ignore", message=r"\s*'hydra/(launcher/ray|sweeper/basic)' is validated against ConfigStore")
