"""How a sweep job's dir is named: its number, then what varied in it (3_model=lstm,model.hidden_size=5), path-safe
and length-capped; and the Hydra key the rnnlab command sets to leave what every job shares out of that name.
"""

MAX_DIR_NAME = 200  # bytes; file systems allow 255 for one path component


def default_job_dir(num: int, overrides: str) -> str:
    name = f"{num}_{overrides.replace('/', '_')}" if overrides else str(num)
    encoded = name.encode()
    return name if len(encoded) <= MAX_DIR_NAME else encoded[:MAX_DIR_NAME].decode(errors="ignore") + "…"


NAMING_KEY = "hydra.job.config.override_dirname.exclude_keys"
