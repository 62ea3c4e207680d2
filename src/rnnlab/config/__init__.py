"""Config -> checked values -> objects: the schemas (types and ranges of every key), validate(cfg), and build(node),
the one mechanism that turns a node with a `_target_` into an object, for rnnlab's classes and a user's alike.
"""

CONFIG_MODULE = "rnnlab.conf"  # conf/, shipped inside the package: Hydra composes from pkg://rnnlab.conf
