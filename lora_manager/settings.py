"""Settings: one dataclass, filled from flags, then environment, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

ENV_PREFIX = "LORA_MANAGER_"
# Every setting, its environment variable and meaning; README's table is checked against this.
DOCUMENTED = {
    "lora_dirs": ("LORA_MANAGER_LORA_DIRS", "library roots, separated by the OS path separator"),
    "data_dir": ("LORA_MANAGER_DATA_DIR", "where the database, trash and caches live"),
    "db_url": ("LORA_MANAGER_DB", "SQLAlchemy URL; default sqlite:///DATA_DIR/library.db"),
    "hash_workers": ("LORA_MANAGER_HASH_WORKERS", "threads hashing files in the background (default 2)"),
    "scan_workers": ("LORA_MANAGER_SCAN_WORKERS",
                     "processes reading headers on a cold scan (default: cores + 2, at most 4)"),
    "api_key": ("LORA_MANAGER_API_KEY", "when set, every API route but /health demands it (X-API-Key or Bearer)"),
    "cors_origins": ("LORA_MANAGER_CORS_ORIGINS", "comma-separated origins allowed by CORS, and allowed to send "
                     "state-changing requests from another site (default: none, CORS off)"),
    "allowed_hosts": ("LORA_MANAGER_ALLOWED_HOSTS", "comma-separated host names the standalone server answers besides "
                      "127.0.0.1, localhost, ::1 and the address it binds to (* for any; see docs/security.md)"),
    "link_targets": ("LORA_MANAGER_LINK_TARGETS", "folders outside the roots that links inside a root may lead into, "
                     "separated by the OS path separator (default: none, links stay inside the roots)"),
    "watch_interval": ("LORA_MANAGER_WATCH_INTERVAL",
                       "seconds between checks for new, removed and changed files in `serve` (0: off; default 5)"),
    "watch_events": ("LORA_MANAGER_WATCH_EVENTS",
                     "follow local library folders by file-system events instead of polling them (on by default; "
                     "off: poll every root)"),
    "embed_model": ("LORA_MANAGER_EMBED_MODEL",
                    "sentence-transformers model name or folder for recommendations (default all-MiniLM-L6-v2)"),
    "embed_download": ("LORA_MANAGER_EMBED_DOWNLOAD",
                       "fetch the recommender's model once into the Hugging Face cache when it is not installed "
                       "(on by default; off, or HF_HUB_OFFLINE=1, never fetches)"),
    "embed_device": ("LORA_MANAGER_EMBED_DEVICE",
                     "where the recommender's model runs: cpu (default), cuda, cuda:N or mps"),
    "usage_retention_days": ("LORA_MANAGER_USAGE_RETENTION_DAYS",
                             "keep raw usage events this many days, older ones live on only in the analytics rollups "
                             "(0: keep all; default 0)"),
    "civitai_url": ("LORA_MANAGER_CIVITAI_URL", "Civitai's address for metadata by hash (default https://civitai.com)"),
    "civitai_key": ("LORA_MANAGER_CIVITAI_KEY",
                    "a Civitai API key, sent as Authorization: Bearer to Civitai's API only; "
                    "never logged (optional)"),
    "civitai_rate": ("LORA_MANAGER_CIVITAI_RATE", "requests per second to Civitai at most (default 2)"),
    "civitai_timeout": ("LORA_MANAGER_CIVITAI_TIMEOUT", "seconds one request to Civitai may take (default 30)"),
    "civitai_recheck_days": ("LORA_MANAGER_CIVITAI_RECHECK_DAYS",
                             "days a hash Civitai does not know is not asked about again by a bulk fetch (default 14)"),
    "civitai_sidecars": ("LORA_MANAGER_CIVITAI_SIDECARS",
                         "write Civitai's record as <name>.civitai.info beside a LoRA that has none (on by default)"),
    "civitai_previews": ("LORA_MANAGER_CIVITAI_PREVIEWS",
                         "download the first suitable image of the version as <name>.preview.<ext> when a LoRA has "
                         "no preview (on by default)"),
    "civitai_nsfw_level": ("LORA_MANAGER_CIVITAI_NSFW_LEVEL",
                           "the highest Civitai rating a downloaded preview may have: PG (default), PG13, R, X, XXX"),
    "civitai_update_hours": ("LORA_MANAGER_CIVITAI_UPDATE_HOURS",
                             "hours between background checks for newer versions of LoRAs with a Civitai model id "
                             "(default 24; 0: only when asked)"),
    "civitai_downloads": ("LORA_MANAGER_CIVITAI_DOWNLOADS", "downloads from Civitai at once: 1 (default) or 2"),
    "civitai_folder": ("LORA_MANAGER_CIVITAI_FOLDER",
                       "where a download lands, below the first library root: a template of {base}, {base_label}, "
                       "{model_name}, {model_id}, {version_name}, {version_id}, {creator}, {type} "
                       "(default {base}/{model_name})"),
    "backup_dir": ("LORA_MANAGER_BACKUP_DIR",
                   "where database backups go (default DATA_DIR/backups; see docs/transfer.md)"),
    "backup_keep": ("LORA_MANAGER_BACKUP_KEEP",
                    "backups kept: DAILY,WEEKLY newest-per-day and newest-per-week, besides every one of the last 24 h "
                    "(default 7,4)"),
    "redis_url": ("LORA_MANAGER_REDIS",
                  "a Redis URL (redis://host:6379/0): jobs go to a queue shared by several hosts "
                  "(off by default; docs/several-hosts.md)"),
    "write_sidecars": ("LORA_MANAGER_WRITE_SIDECARS",
                       "also write your triggers, weight, notes and negative text into the SDNext/A1111 `<base>.json` "
                       "beside each LoRA when you edit them (off by default)"),
    "outputs_keep_days": ("LORA_MANAGER_OUTPUTS_KEEP_DAYS",
                          "job results (images in DATA_DIR/outputs) older than this many days are removed, except "
                          "those set as a preview (0: keep; default 0)"),
    "outputs_keep_gb": ("LORA_MANAGER_OUTPUTS_KEEP_GB",
                        "job results beyond this many GB are removed oldest first, except those set as a preview "
                        "(0: no limit; default 0)"),
    "host_id": ("LORA_MANAGER_HOST_ID", "this host's name among several sharing a library or a job queue (default: "
                "the machine's name and an id kept in DATA_DIR/host-id; see docs/several-hosts.md)"),
    "shared_library": ("LORA_MANAGER_SHARED_LIBRARY",
                       "per-host file locations, scan locks and change notices: auto (default: on with PostgreSQL), "
                       "on or off"),
    "scan_wait": ("LORA_MANAGER_SCAN_WAIT", "seconds a scan waits for another host scanning the same shared root "
                  "before it skips that root (default 300)"),
}
DEFAULT_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Civitai's browsing levels (a bit each); a preview above the setting is skipped.
NSFW_LEVELS = {"pg": 1, "pg13": 2, "r": 4, "x": 8, "xxx": 16}


def parse_keep(raw: str) -> tuple[int, int]:
    """`DAILY,WEEKLY` as two whole numbers of at least 0 (LORA_MANAGER_BACKUP_KEEP)."""
    parts = [p.strip() for p in raw.split(",")]
    try:
        daily, weekly = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        daily = weekly = None
    if daily is None or weekly is None or daily < 0 or weekly < 0:
        raise ValueError(f"LORA_MANAGER_BACKUP_KEEP must be DAILY,WEEKLY (two whole numbers, e.g. 7,4), not {raw!r}")
    return daily, weekly


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "lora-manager")


@dataclass(slots=True)
class Settings:
    lora_dirs: list[str] = field(default_factory=list)
    data_dir: str = ""
    db_url: str = ""
    hash_workers: int = 2
    # Header reading waits on the disk half of the time: two workers more than cores keep both
    # busy on a cold scan (2 cores: 4 workers 92% busy, 3 workers 85%; docs/performance.md).
    scan_workers: int = field(default_factory=lambda: min(4, (os.cpu_count() or 2) + 2))
    api_key: str = ""
    cors_origins: list[str] = field(default_factory=list)
    allowed_hosts: list[str] = field(default_factory=list)
    link_targets: list[str] = field(default_factory=list)
    watch_interval: float = 5.0
    watch_events: bool = True
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_device: str = "cpu"
    embed_download: bool = True
    usage_retention_days: int = 0
    backup_dir: str = ""
    backup_keep: tuple[int, int] = (7, 4)
    write_sidecars: bool = False
    max_body_bytes: int = 1 << 20
    civitai_url: str = "https://civitai.com"
    civitai_key: str = field(default="", repr=False)  # a secret: never in a repr, a log or a message
    civitai_rate: float = 2.0
    civitai_timeout: float = 30.0
    civitai_recheck_days: int = 14
    civitai_sidecars: bool = True
    civitai_previews: bool = True
    civitai_nsfw_level: int = 1
    civitai_update_hours: float = 24.0
    civitai_downloads: int = 1
    civitai_folder: str = "{base}/{model_name}"
    redis_url: str = field(default="", repr=False)  # may carry a password
    outputs_keep_days: float = 0.0
    outputs_keep_gb: float = 0.0
    host_id: str = ""
    shared_library: str = "auto"
    scan_wait: float = 300.0

    def __post_init__(self) -> None:
        self.data_dir = os.path.abspath(os.path.expanduser(self.data_dir or default_data_dir()))
        self.lora_dirs = [os.path.abspath(os.path.expanduser(d)) for d in self.lora_dirs]
        self.link_targets = [os.path.abspath(os.path.expanduser(d)) for d in self.link_targets if d]
        self.allowed_hosts = [h.strip().lower() for h in self.allowed_hosts if h.strip()]
        if not self.db_url:
            self.db_url = "sqlite:///" + os.path.join(self.data_dir, "library.db")
        self.civitai_url = (self.civitai_url or "https://civitai.com").rstrip("/")
        if isinstance(self.backup_keep, str):
            self.backup_keep = parse_keep(self.backup_keep)
        self.host_id = (self.host_id or "").strip()
        if len(self.host_id) > 200 or not self.host_id.isprintable():
            raise ValueError("LORA_MANAGER_HOST_ID must be printable text of at most 200 characters")
        self.shared_library = (self.shared_library or "auto").strip().lower()
        if self.shared_library not in ("auto", "on", "off"):
            raise ValueError(f"LORA_MANAGER_SHARED_LIBRARY must be auto, on or off, not {self.shared_library!r}")
        self.backup_dir = os.path.abspath(os.path.expanduser(self.backup_dir or os.path.join(self.data_dir, "backups")))

    @property
    def trash_dir(self) -> str:
        return os.path.join(self.data_dir, "trash")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Environment first, then explicit overrides (flags) that are not None/empty."""
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("LORA_MANAGER_LORA_DIRS"):
            values["lora_dirs"] = [d for d in env["LORA_MANAGER_LORA_DIRS"].split(os.pathsep) if d]
        if env.get("LORA_MANAGER_DATA_DIR"):
            values["data_dir"] = env["LORA_MANAGER_DATA_DIR"]
        if env.get("LORA_MANAGER_DB"):
            values["db_url"] = env["LORA_MANAGER_DB"]
        if env.get("LORA_MANAGER_API_KEY"):
            values["api_key"] = env["LORA_MANAGER_API_KEY"]
        if env.get("LORA_MANAGER_LINK_TARGETS"):
            values["link_targets"] = [d for d in env["LORA_MANAGER_LINK_TARGETS"].split(os.pathsep) if d]
        if env.get("LORA_MANAGER_ALLOWED_HOSTS"):
            values["allowed_hosts"] = [h for h in env["LORA_MANAGER_ALLOWED_HOSTS"].split(",") if h.strip()]
        if env.get("LORA_MANAGER_CORS_ORIGINS"):
            values["cors_origins"] = [o.strip() for o in env["LORA_MANAGER_CORS_ORIGINS"].split(",") if o.strip()]
        if env.get("LORA_MANAGER_WATCH_INTERVAL"):
            try:
                values["watch_interval"] = max(0.0, float(env["LORA_MANAGER_WATCH_INTERVAL"]))
            except ValueError:
                raise ValueError("LORA_MANAGER_WATCH_INTERVAL must be a number of seconds") from None
        for key in ("embed_model", "embed_device", "civitai_url", "civitai_key", "civitai_folder", "backup_dir",
                    "backup_keep", "host_id", "redis_url", "shared_library"):  # backup_keep: parsed below
            name = DOCUMENTED[key][0] if key in DOCUMENTED else ENV_PREFIX + key.upper()
            if env.get(name):
                values[key] = env[name].strip()
        for key in ("embed_download", "watch_events", "civitai_sidecars", "civitai_previews", "write_sidecars"):
            raw = env.get(ENV_PREFIX + key.upper(), "").strip().lower()
            if raw:
                values[key] = raw not in ("0", "off", "false", "no", "none")
        raw = env.get("LORA_MANAGER_USAGE_RETENTION_DAYS")
        if raw:
            try:
                values["usage_retention_days"] = max(0, int(raw))
            except ValueError:
                raise ValueError(
                    f"LORA_MANAGER_USAGE_RETENTION_DAYS must be a whole number of days, not {raw!r}"
                ) from None
        for key in ("hash_workers", "scan_workers"):
            raw = env.get(ENV_PREFIX + key.upper())
            if raw:
                try:
                    values[key] = max(1, int(raw))
                except ValueError:
                    raise ValueError(f"{ENV_PREFIX}{key.upper()} must be a whole number, not {raw!r}") from None
        values.update(_civitai_numbers(env))
        values.update(_outputs_numbers(env))
        if overrides.get("allowed_hosts"):  # flags add to the environment's names
            overrides["allowed_hosts"] = values.get("allowed_hosts", []) + list(overrides["allowed_hosts"])
        values.update({k: v for k, v in overrides.items() if v not in (None, "", [])})
        return cls(**values)


def _outputs_numbers(env) -> dict:
    """The keep policy of job results (LORA_MANAGER_OUTPUTS_KEEP_DAYS / _GB); a bad value is refused by name."""
    values: dict = {}
    for key in ("outputs_keep_days", "outputs_keep_gb"):
        raw = env.get(ENV_PREFIX + key.upper(), "").strip()
        if raw:
            try:
                values[key] = max(0.0, float(raw))
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{key.upper()} must be a number, not {raw!r}") from None
    return values


def _civitai_numbers(env) -> dict:
    """The numeric Civitai settings; a bad value is refused with the variable's name."""
    values: dict = {}
    for key, kind, low in (("civitai_rate", float, 0.01), ("civitai_timeout", float, 1.0),
                           ("civitai_recheck_days", int, 0)):
        name = ENV_PREFIX + key.upper()
        raw = env.get(name, "").strip()
        if raw:
            try:
                values[key] = max(low, kind(raw))
            except ValueError:
                raise ValueError(f"{name} must be a number, not {raw!r}") from None
    raw = env.get("LORA_MANAGER_CIVITAI_NSFW_LEVEL", "").strip()
    if raw:
        values["civitai_nsfw_level"] = nsfw_level(raw)
    raw = env.get("LORA_MANAGER_CIVITAI_UPDATE_HOURS", "").strip()
    if raw:
        try:
            values["civitai_update_hours"] = max(0.0, float(raw))
        except ValueError:
            raise ValueError(f"LORA_MANAGER_CIVITAI_UPDATE_HOURS must be a number of hours, not {raw!r}") from None
    raw = env.get("LORA_MANAGER_SCAN_WAIT", "").strip()  # several hosts (not Civitai), read with the numbers
    if raw:
        try:
            values["scan_wait"] = max(0.0, float(raw))
        except ValueError:
            raise ValueError(f"LORA_MANAGER_SCAN_WAIT must be a number of seconds, not {raw!r}") from None
    raw = env.get("LORA_MANAGER_CIVITAI_DOWNLOADS", "").strip()
    if raw:
        if raw not in ("1", "2"):
            raise ValueError(f"LORA_MANAGER_CIVITAI_DOWNLOADS must be 1 or 2, not {raw!r}")
        values["civitai_downloads"] = int(raw)
    if env.get("LORA_MANAGER_CIVITAI_FOLDER", "").strip():
        from .civitai.targets import check_template

        values["civitai_folder"] = check_template(env["LORA_MANAGER_CIVITAI_FOLDER"])
    return values


def nsfw_level(raw: str) -> int:
    """PG, PG13 (PG-13), R, X, XXX, or Civitai's number for one of them (1, 2, 4, 8, 16)."""
    key = raw.strip().lower().replace("-", "").replace(" ", "")
    if key in NSFW_LEVELS:
        return NSFW_LEVELS[key]
    if key.isdigit() and int(key) in NSFW_LEVELS.values():
        return int(key)
    raise ValueError(f"LORA_MANAGER_CIVITAI_NSFW_LEVEL must be one of PG, PG13, R, X, XXX, not {raw!r}")
