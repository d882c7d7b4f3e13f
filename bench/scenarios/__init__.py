"""One module per benchmark scenario; each returns result rows and target verdicts."""
