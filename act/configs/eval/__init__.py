"""act-eval's config root (a package, so Hydra finds it from the installed console script)."""
