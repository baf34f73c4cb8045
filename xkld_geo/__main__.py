"""Command line: ``python -m xkld_geo build|demo|settings``."""
from xkld_geo.cli import main

raise SystemExit(main())
