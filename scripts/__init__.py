"""support-hero jobs: one module per job and the frame they share; each concern in a package."""
