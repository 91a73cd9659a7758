"""Hydra configs shipped inside the package (a package so Hydra finds them after any install)."""
