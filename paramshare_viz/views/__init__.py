"""What each dashboard tab shows, as pure functions of its settings (no widgets; only ``app/`` imports ipywidgets)."""
