"""SDNext / A1111 call `preload(parser)` before parsing the command line: our flags."""


def preload(parser):
    group = parser.add_argument_group("LoRA Manager")
    group.add_argument("--lora-manager-data-dir", type=str, default=None,
                       help="LoRA Manager: data directory (default: the host's data dir / lora-manager)")
    group.add_argument("--lora-manager-db", type=str, default=None,
                       help="LoRA Manager: database URL (default: SQLite in the data dir; postgresql://... to share)")
    group.add_argument("--lora-manager-api-key", type=str, default=None,
                       help="LoRA Manager: API key demanded by its routes (the host's --auth applies as well)")
    group.add_argument("--lora-manager-lora-dir", type=str, action="append", default=None,
                       help="LoRA Manager: an extra library root besides the host's --lora-dir (repeatable)")
    group.add_argument("--lora-manager-redis", type=str, default=None,
                       help="LoRA Manager: Redis URL of a job queue shared by several hosts (off by default)")
    group.add_argument("--lora-manager-host-id", type=str, default=None,
                       help="LoRA Manager: this host's name among several sharing a library and a queue")
    group.add_argument("--lora-manager-civitai-url", type=str, default=None,
                       help="LoRA Manager: Civitai's address for metadata, previews and downloads "
                            "(default https://civitai.com)")
    group.add_argument("--lora-manager-civitai-key", type=str, default=None,
                       help="LoRA Manager: a Civitai API key, sent to Civitai's API only (or LORA_MANAGER_CIVITAI_KEY)")
    group.add_argument("--lora-manager-no-recommender", action="store_true", default=False,
                       help="LoRA Manager: never load the recommender's embedding model")
