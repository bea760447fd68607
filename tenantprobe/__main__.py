"""``python -m tenantprobe``: the same command line as ``tenantprobe``."""

from tenantprobe.cli import main

if __name__ == "__main__":
    main()
