"""support-hero jobs: one module per job, pure cores beside them, adapters under clients/."""
